using System.Runtime.InteropServices;
using RecoCluster.Grains.Interfaces;

namespace RecoCluster.Grains.Model;

/// <summary>One window entry: 12 bytes, no references (24 before 2026-12-07, docs/benchmarks.md, "Memory"). The
/// item is a number of the silo's <see cref="ItemIdTable"/>; the time, the type, the purchased mark and the
/// interaction count share one long: the time as signed milliseconds from 2000-01-01 in 44 bits (about 278
/// years either way, where events are accepted from 2000 to 2100), the type in 2, the mark in 1, and the count
/// in 17, where it stops at <see cref="MaxInteractions"/> (a count only the history shows).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct RecentEntry
{
    public const int MaxInteractions = (1 << 17) - 1;

    private const int TimeBits = 44;
    private const long TimeMask = (1L << TimeBits) - 1;
    private const long Epoch2000Ms = 946_684_800_000;
    private const int TypeShift = TimeBits;
    private const int PurchasedShift = TimeBits + 2;
    private const int InteractionsShift = TimeBits + 3;

    private long _packed;

    public RecentEntry(int item, EventType type, long lastSeenMs, int interactions, bool purchased)
    {
        Item = item;
        LastSeenMs = lastSeenMs;
        Type = type;
        Purchased = purchased;
        Interactions = interactions;
    }

    public int Item;

    public long LastSeenMs
    {
        // Shifted up and back down to carry the 44-bit offset's sign.
        readonly get => (_packed << (64 - TimeBits) >> (64 - TimeBits)) + Epoch2000Ms;
        set
        {
            var offset = value - Epoch2000Ms;
            if (offset < -(1L << (TimeBits - 1)) || offset >= 1L << (TimeBits - 1))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "a window entry holds times within about 278 years of 2000");
            }

            _packed = (_packed & ~TimeMask) | (offset & TimeMask);
        }
    }

    public EventType Type
    {
        readonly get => (EventType)((_packed >> TypeShift) & 3);
        set => _packed = (_packed & ~(3L << TypeShift)) | (((long)value & 3) << TypeShift);
    }

    public bool Purchased
    {
        readonly get => ((_packed >> PurchasedShift) & 1) != 0;
        set => _packed = value ? _packed | (1L << PurchasedShift) : _packed & ~(1L << PurchasedShift);
    }

    public int Interactions
    {
        readonly get => (int)((ulong)_packed >> InteractionsShift);
        set => _packed = (_packed & ((1L << InteractionsShift) - 1)) | ((long)Math.Clamp(value, 0, MaxInteractions) << InteractionsShift);
    }
}

using System.Globalization;
using System.Text.Json;

namespace RecoCluster.Bench.Reporting;

/// <summary><c>bench/results/ingest.json</c> as <c>charts</c> and <c>report</c> read it. Files written before
/// the ingest bench recorded its command and machine have neither; the command is then rebuilt from what the file
/// does say (events and runs), and the machine is only its core count. Files written before the bench moved onto
/// Orleans measured the first runtime, whose user and item sides finished at different times: they are read as
/// their "item side too" figure (when both sides were done), the nearest to what is measured now, and say so
/// (<see cref="FirstRuntime"/>).</summary>
public sealed record IngestResultsFile(DateTimeOffset Date, string Command, MachineInfo? Machine, int Cores, bool FirstRuntime, IReadOnlyList<IngestResultsFile.Row> Summary)
{
    public const string FileName = "ingest.json";

    public static IngestResultsFile Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        var firstRuntime = !root.GetProperty("summary").EnumerateArray().All(s => s.TryGetProperty("medianStoredEventsPerSecond", out _));
        var (stored, ratio) = firstRuntime ? ("medianAllDoneEventsPerSecond", "medianAllDoneRatio") : ("medianStoredEventsPerSecond", "medianStoredRatio");
        var summary = root.GetProperty("summary").EnumerateArray().Select(s => new Row(
            s.GetProperty("provider").GetString()!,
            s.GetProperty("runs").GetInt32(),
            s.GetProperty("medianBareEventsPerSecond").GetDouble(),
            s.GetProperty(stored).GetDouble(),
            s.GetProperty(ratio).GetDouble(),
            // The first runtime's second half was of the user side alone: not the same figure, so not shown as it.
            firstRuntime ? null : OptionalDouble(s, "medianSecondHalfEventsPerSecond"),
            firstRuntime ? null : OptionalDouble(s, "medianSecondHalfRatio"),
            // Recorded since 2026-12-07.
            OptionalDouble(s, "medianUserSideEventsPerSecond"),
            OptionalDouble(s, "medianUserSideRatio"),
            OptionalDouble(s, "medianItemSideOfUserSide"),
            OptionalDouble(s, "medianStoredBytesPerEvent"),
            // Recorded since 2026-12-07 08:50 UTC.
            OptionalDouble(s, "medianBareCpuMicrosecondsPerEvent"),
            OptionalDouble(s, "medianSiloCpuMicrosecondsPerEvent"),
            // Recorded since 2026-12-07 13:00 UTC.
            OptionalDouble(s, "medianAllocatedBytesPerEvent"))).ToList();
        var command = root.TryGetProperty("command", out var c) ? c.GetString()! : BenchArgs.Command("ingest", [
            "--events", root.GetProperty("events").GetInt32().ToString(CultureInfo.InvariantCulture),
            "--runs", summary.Max(s => s.Runs).ToString(CultureInfo.InvariantCulture)]);
        var machine = root.TryGetProperty("machine", out var m) ? m.Deserialize<MachineInfo>(JsonSerializerOptions.Web) : null;
        return new IngestResultsFile(root.GetProperty("date").GetDateTimeOffset(), command, machine, root.GetProperty("cores").GetInt32(), firstRuntime, summary);
    }

    // Null when no run had a window to time it.
    private static double? OptionalDouble(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    /// <summary>How the docs name a storage provider.</summary>
    public static string StorageName(string provider) => provider switch
    {
        "Sqlite" => "SQLite",
        "Postgres" => "PostgreSQL",
        _ => provider,
    };

    /// <summary>The machine as the docs print it.</summary>
    public string MachineText => Machine?.ToString() ?? $"{Cores} cores (CPU and RAM not recorded by this run)";

    /// <summary>One storage's medians (events/s, and ratios to the bare consumer of the same run).</summary>
    /// <param name="Provider">The storage provider's configuration name.</param>
    /// <param name="Runs">Runs the medians are of.</param>
    /// <param name="Bare">The bare consumer.</param>
    /// <param name="Stored">The silo, until every event was stored on both the user and the item side.</param>
    /// <param name="StoredRatio">Of the bare consumer.</param>
    /// <param name="SecondHalf">The same over the run's second half, when its users and items are in memory (null
    /// when no run had a window to time it, and in the first runtime's files).</param>
    /// <param name="SecondHalfRatio">Of the bare consumer.</param>
    /// <param name="UserSide">The silo, until every event was stored on the user side (null in files before
    /// 2026-12-07, as are the next three).</param>
    /// <param name="UserSideRatio">Of the bare consumer.</param>
    /// <param name="ItemSideOfUserSide">Both sides' rate over the user side's, per run.</param>
    /// <param name="BytesPerEvent">Payload bytes the silo stored per event.</param>
    /// <param name="BareCpuPerEvent">The process's CPU time per event while the bare consumer read, in µs (the
    /// embedded broker included; null in files before it was recorded, as is the next).</param>
    /// <param name="SiloCpuPerEvent">The same while the silo applied and stored the events.</param>
    /// <param name="AllocatedPerEvent">Bytes the process allocated on the managed heap per event while the silo
    /// applied and stored the events (null in files before it was recorded).</param>
    public sealed record Row(
        string Provider,
        int Runs,
        double Bare,
        double Stored,
        double StoredRatio,
        double? SecondHalf,
        double? SecondHalfRatio,
        double? UserSide = null,
        double? UserSideRatio = null,
        double? ItemSideOfUserSide = null,
        double? BytesPerEvent = null,
        double? BareCpuPerEvent = null,
        double? SiloCpuPerEvent = null,
        double? AllocatedPerEvent = null);
}

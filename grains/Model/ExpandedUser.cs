namespace RecoCluster.Grains.Model;

/// <summary>
/// A user's state in the form events are applied to: the window as an array of <see cref="RecentEntry"/>, the counts,
/// the daily cap and the factor vector as fields. A <see cref="UserModel"/> holds one while it is being changed and
/// its packed bytes (<see cref="PackedUser"/>) at rest.
/// </summary>
/// <remarks>Fields, not properties: the model works on the window in place (<c>ref _recent[i]</c>).</remarks>
internal sealed class ExpandedUser
{
    public RecentEntry[] Recent = [];
    public int RecentCount;
    public long Views;
    public long Clicks;
    public long Carts;
    public long Purchases;
    public long LastEventMs;
    public int CapDay;
    public int CapCount;

    // The user's vector in half precision: 64 bytes of values instead of 128 at dimension 32. A step reads it into
    // floats, moves it there and rounds it back; the stored form and what serving reads are floats.
    public Half[]? Factors;

    public long TotalEvents => Views + Clicks + Carts + Purchases;
}

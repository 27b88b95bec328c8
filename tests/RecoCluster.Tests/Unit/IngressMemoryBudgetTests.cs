using RecoCluster.Silo.Ingress;

namespace RecoCluster.Tests.Unit;

public class IngressMemoryBudgetTests
{
    private const long GiB = 1L << 30;

    // A 2 GiB pod: the runtime's heap may use three quarters.
    private const long Pod = 3 * GiB / 2;

    [Fact]
    public void A_silo_with_few_partitions_keeps_the_per_partition_limits()
    {
        var budget = new IngressMemoryBudget(new IngressOptions(), Pod);

        Assert.Equal(new IngressShare(20_000, 40_000, 200_000), budget.Share(1));
        Assert.Equal(new IngressShare(20_000, 40_000, 200_000), budget.Share(4));
    }

    [Fact]
    public void A_silo_left_with_every_partition_shares_the_budgets_and_stays_within_them()
    {
        var budget = new IngressMemoryBudget(new IngressOptions(), Pod);

        var share = budget.Share(32);

        Assert.Equal(Pod / 2 / IngressMemoryBudget.BytesPerRecord, budget.Records);
        Assert.Equal(Pod / 3 / IngressMemoryBudget.BytesPerUser, budget.Users);
        Assert.Equal(new IngressShare(4_096, 8_192, 55_924), share);
        Assert.True(32L * (share.BatchRecords + share.BufferedRecords) <= budget.Records);
        Assert.True(32L * share.UsersInMemory <= budget.Users);
    }

    [Fact]
    public void Configured_budgets_replace_the_automatic_ones()
    {
        var budget = new IngressMemoryBudget(new IngressOptions { SiloRecordBudget = 96_000, SiloUsersInMemory = 64_000 }, 64 * GiB);

        Assert.Equal((96_000L, 64_000L), (budget.Records, budget.Users));
        Assert.Equal(new IngressShare(1_000, 2_000, 2_000), budget.Share(32));
    }

    [Fact]
    public void No_share_falls_below_the_floors_however_many_partitions()
    {
        var budget = new IngressMemoryBudget(new IngressOptions { SiloRecordBudget = 2_000, SiloUsersInMemory = 1_000 }, 0);

        Assert.Equal(new IngressShare(500, 1_000, 1_000), budget.Share(1_000));
    }

    [Fact]
    public void An_unknown_memory_size_sets_no_budget()
    {
        var budget = new IngressMemoryBudget(new IngressOptions(), 0);

        Assert.Equal(new IngressShare(20_000, 40_000, 200_000), budget.Share(4_096));
    }

    [Fact]
    public void Kafkas_prefetch_is_a_share_of_the_memory_outside_the_heap_within_its_bounds()
    {
        // A 2 GiB pod: 1.5 GiB for the runtime, half a GiB outside its heap; the prefetch takes an eighth of that.
        Assert.Equal(64 * 1024, new IngressMemoryBudget(new IngressOptions(), Pod).PrefetchKilobytes);
        Assert.Equal(32 * 1024, new IngressMemoryBudget(new IngressOptions(), 3 * GiB / 4).PrefetchKilobytes);
        Assert.Equal(IngressMemoryBudget.MinPrefetchKilobytes, new IngressMemoryBudget(new IngressOptions(), GiB / 16).PrefetchKilobytes);
        Assert.Equal(IngressMemoryBudget.MaxPrefetchKilobytes, new IngressMemoryBudget(new IngressOptions(), 64 * GiB).PrefetchKilobytes);
        Assert.Equal(IngressMemoryBudget.MaxPrefetchKilobytes, new IngressMemoryBudget(new IngressOptions(), 0).PrefetchKilobytes);
    }

    [Theory]
    [InlineData(0L, 0L, true)]
    [InlineData(1_499L, 0L, false)]
    [InlineData(1_500L, 0L, true)]
    [InlineData(-1L, 0L, false)]
    [InlineData(0L, 999L, false)]
    [InlineData(0L, 1_000L, true)]
    public void Each_budget_is_automatic_or_at_least_its_floor(long records, long users, bool valid)
    {
        var result = new IngressOptionsValidator().Validate(null, new IngressOptions { SiloRecordBudget = records, SiloUsersInMemory = users });

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains(records is > 0 and < 1_500 or < 0 ? "Reco:Ingress:SiloRecordBudget" : "Reco:Ingress:SiloUsersInMemory", result.FailureMessage, StringComparison.Ordinal);
        }
    }
}

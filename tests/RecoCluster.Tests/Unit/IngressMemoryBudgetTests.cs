using RecoCluster.Silo.Ingress;

namespace RecoCluster.Tests.Unit;

public class IngressMemoryBudgetTests
{
    private const long GiB = 1L << 30;

    [Fact]
    public void A_silo_with_few_partitions_keeps_the_per_partition_limits()
    {
        // A 2 GiB pod: the runtime's heap may use three quarters.
        var budget = new IngressMemoryBudget(new IngressOptions(), 3 * GiB / 2);

        Assert.Equal(new IngressShare(20_000, 40_000), budget.Share(1));
        Assert.Equal(new IngressShare(20_000, 40_000), budget.Share(8));
    }

    [Fact]
    public void A_silo_left_with_every_partition_shares_the_budget_and_stays_within_it()
    {
        var budget = new IngressMemoryBudget(new IngressOptions(), 3 * GiB / 2);

        var share = budget.Share(32);

        Assert.Equal(3 * GiB / 2 / IngressMemoryBudget.BytesPerRecord, budget.Records);
        Assert.Equal(8_192, share.BatchRecords);
        Assert.Equal(16_384, share.BufferedRecords);
        Assert.True(32L * (share.BatchRecords + share.BufferedRecords) <= budget.Records);
    }

    [Fact]
    public void A_configured_budget_replaces_the_automatic_one()
    {
        var budget = new IngressMemoryBudget(new IngressOptions { SiloRecordBudget = 96_000 }, 64 * GiB);

        Assert.Equal(96_000, budget.Records);
        Assert.Equal(new IngressShare(1_000, 2_000), budget.Share(32));
    }

    [Fact]
    public void No_share_falls_below_the_floor_however_many_partitions()
    {
        var budget = new IngressMemoryBudget(new IngressOptions { SiloRecordBudget = 2_000 }, 0);

        Assert.Equal(new IngressShare(500, 1_000), budget.Share(1_000));
    }

    [Fact]
    public void An_unknown_memory_size_sets_no_budget()
    {
        var budget = new IngressMemoryBudget(new IngressOptions(), 0);

        Assert.Equal(new IngressShare(20_000, 40_000), budget.Share(4_096));
    }

    [Theory]
    [InlineData(0L, true)]
    [InlineData(1_499L, false)]
    [InlineData(1_500L, true)]
    [InlineData(-1L, false)]
    public void The_budget_is_automatic_or_at_least_the_floor(long records, bool valid)
    {
        var result = new IngressOptionsValidator().Validate(null, new IngressOptions { SiloRecordBudget = records });

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Reco:Ingress:SiloRecordBudget", result.FailureMessage, StringComparison.Ordinal);
        }
    }
}

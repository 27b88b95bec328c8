using RecoCluster.Silo.Items;

namespace RecoCluster.Tests.Unit;

public class ItemMemoryBudgetTests
{
    private const long MiB = 1L << 20;

    [Fact]
    public void The_automatic_budget_is_a_sixth_of_the_runtimes_memory_shared_among_the_silos_shards()
    {
        var budget = new ItemMemoryBudget(new ItemShardOptions(), 1_536 * MiB); // a 2 GiB pod

        Assert.Equal(256 * MiB, budget.Bytes);
        Assert.Equal(256 * MiB, budget.ShareBytes); // no shard yet: the whole budget
        for (var s = 0; s < 8; s++)
        {
            budget.Enter();
        }

        Assert.Equal(32 * MiB, budget.ShareBytes);
        budget.Leave();
        Assert.Equal(256 * MiB / 7, budget.ShareBytes);
    }

    [Fact]
    public void A_configured_budget_replaces_the_automatic_one_and_no_share_falls_below_the_floor()
    {
        var budget = new ItemMemoryBudget(new ItemShardOptions { SiloMemoryMiB = 1 }, 64L << 30);
        for (var s = 0; s < 32; s++)
        {
            budget.Enter();
        }

        Assert.Equal(MiB, budget.Bytes);
        Assert.Equal(ItemMemoryBudget.MinShareBytes, budget.ShareBytes);
    }

    [Fact]
    public void An_unknown_memory_size_sets_no_budget()
    {
        Assert.Equal(long.MaxValue, new ItemMemoryBudget(new ItemShardOptions(), 0).ShareBytes);
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    public void The_setting_is_automatic_or_positive(int miB, bool valid)
    {
        var result = new ItemShardOptionsValidator().Validate(null, new ItemShardOptions { SiloMemoryMiB = miB });

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Reco:Items:SiloMemoryMiB", result.FailureMessage, StringComparison.Ordinal);
        }
    }
}

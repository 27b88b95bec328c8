using System.Text;
using RecoCluster.Grains.Model;

namespace RecoCluster.Tests.Unit;

public sealed class ItemIdTableTests
{
    [Fact]
    public void Every_number_reads_back_its_id_and_the_ids_utf8_bytes_through_the_tables_growth()
    {
        var ids = new ItemIdTable();
        // Past the first sizes of both arrays and of the byte buffer (1,024 ids, 16 KB), with ids of one byte, of
        // several hundred, and outside ASCII.
        var all = Enumerable.Range(0, 5_000).Select(i => (i % 7) switch
        {
            0 => $"sku-{i}",
            1 => $"é-{i}-ü",
            2 => $"{i}-" + new string('x', 300 + (i % 50)),
            3 => $"商品{i}",
            _ => i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).ToList();
        var numbers = all.Select(ids.Intern).ToList();

        Assert.Equal(Enumerable.Range(0, all.Count), numbers);
        for (var i = 0; i < all.Count; i++)
        {
            Assert.Equal(all[i], ids[numbers[i]]);
            Assert.Equal(Encoding.UTF8.GetBytes(all[i]), ids.Utf8(numbers[i]).ToArray());
            Assert.Equal(numbers[i], ids.Intern(all[i]));
        }
    }

    [Fact]
    public async Task Readers_on_other_threads_see_the_bytes_of_every_number_they_were_given_while_the_table_grows()
    {
        var ids = new ItemIdTable();
        var mismatches = 0;
        // Four writers intern overlapping ids (so numbers are given on every thread and found on others) and read
        // each number's bytes at once, while the arrays and the buffer are replaced under them.
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var id = $"item-{(i * 4) + w}-{new string('y', i % 40)}";
                var number = ids.Intern(id);
                if (!ids.Utf8(number).SequenceEqual(Encoding.UTF8.GetBytes(id)) || ids[number] != id)
                {
                    Interlocked.Increment(ref mismatches);
                }

                var shared = $"item-{i}-{new string('y', i / 4 % 40)}";
                var earlier = ids.Intern(shared);
                if (ids[earlier] != shared || !ids.Utf8(earlier).SequenceEqual(Encoding.UTF8.GetBytes(shared)))
                {
                    Interlocked.Increment(ref mismatches);
                }
            }
        })).ToArray();
        await Task.WhenAll(writers);

        Assert.Equal(0, mismatches);
        for (var n = 0; n < ids.Count; n++)
        {
            Assert.Equal(Encoding.UTF8.GetBytes(ids[n]), ids.Utf8(n).ToArray());
        }
    }
}

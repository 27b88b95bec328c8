using Microsoft.Extensions.Options;

namespace RecoCluster.Cluster;

/// <summary>Kafka settings. Section <c>Reco:Kafka</c>; environment <c>Reco__Kafka__BootstrapServers</c>, ….</summary>
public sealed class KafkaOptions
{
    public const string Section = "Reco:Kafka";

    /// <summary>The value of <see cref="BootstrapServers"/> that means "start librdkafka's mock cluster in this
    /// process" (only meaningful for <c>./reco dev</c> and tests).</summary>
    public const string Embedded = "embedded";

    /// <summary>Comma-separated host:port list, or <c>embedded</c>.</summary>
    public string BootstrapServers { get; set; } = Embedded;

    /// <summary>Prefix of every topic name; see <see cref="TopicNames"/>.</summary>
    public string TopicPrefix { get; set; } = "reco";

    /// <summary>Partition count used when this process creates the topics (embedded Kafka only). The partition
    /// count bounds how many silos can share the work; it must not change once data exists, because keys would
    /// map to other partitions.</summary>
    public int Partitions { get; set; } = 8;

    /// <summary>How often each Kafka client reports librdkafka's statistics, which become the <c>reco_kafka_*</c>
    /// series of <c>/metrics</c> (<c>KafkaStatistics</c>); 0 turns them off. As often as Prometheus scrapes,
    /// by default.</summary>
    public int StatisticsIntervalMs { get; set; } = 15_000;

    /// <summary>Extra librdkafka properties passed to every client (for example <c>security.protocol</c>).</summary>
    public Dictionary<string, string> Client { get; set; } = [];

    public TopicNames Topics => new(TopicPrefix);

    public bool IsEmbedded => string.Equals(BootstrapServers, Embedded, StringComparison.OrdinalIgnoreCase);
}

/// <summary>Validates <see cref="KafkaOptions"/> at start-up with messages that name the setting.</summary>
public sealed class KafkaOptionsValidator : IValidateOptions<KafkaOptions>
{
    public ValidateOptionsResult Validate(string? name, KafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.BootstrapServers))
        {
            errors.Add("Reco:Kafka:BootstrapServers is empty; give host:port[,host:port] or 'embedded'.");
        }

        if (string.IsNullOrWhiteSpace(options.TopicPrefix) || options.TopicPrefix.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
        {
            errors.Add($"Reco:Kafka:TopicPrefix '{options.TopicPrefix}' must be non-empty and use only ASCII letters, digits, '.', '_' or '-'.");
        }

        if (options.Partitions is < 1 or > 1024)
        {
            errors.Add($"Reco:Kafka:Partitions is {options.Partitions}; it must be between 1 and 1024.");
        }

        if (options.StatisticsIntervalMs is < 0 or > 3_600_000)
        {
            errors.Add($"Reco:Kafka:StatisticsIntervalMs is {options.StatisticsIntervalMs}; it must be between 0 (off) and 3600000 (an hour).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

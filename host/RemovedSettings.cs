namespace RecoCluster.Host;

/// <summary>
/// Settings of the first runtime, which was removed (docs/architecture.md, "From the first runtime"). A process
/// with one of them set refuses to start and says what took its place, rather than ignore it: an operator who sets
/// <c>Reco:Runtime=Partitions</c> or tunes a checkpoint interval expects it to mean something.
/// </summary>
internal static class RemovedSettings
{
    private static readonly (string Key, string Instead)[] Removed =
    [
        ("Reco:Runtime", "the first runtime was removed and every silo is an Orleans silo; remove the setting"),
        ("Reco:Silo:CheckpointIntervalMs", "an ingress checkpoints every batch; Reco:Ingress:MaxBatchRecords sizes them"),
        ("Reco:Silo:MaxQueuedRecordsPerPartition", "use Reco:Ingress:MaxBufferedRecords"),
        ("Reco:Silo:IdleGrainSeconds", "Orleans collects idle grains itself (after 15 minutes by default)"),
        ("Reco:Silo:AdvertisedUrl", "silos are reached over Orleans; use Reco:Orleans:AdvertisedAddress"),
        ("Reco:Cluster:Secret", "silos and the gateway talk Orleans, whose ports the NetworkPolicy guards (docs/deployment.md); remove the setting"),
        ("Reco:Directory", "Orleans' membership (Reco:Orleans) replaced the directory topic; remove the section"),
        ("Reco:Gateway:SiloAttemptTimeoutMs", "a query has one deadline, Reco:Gateway:RouteDeadlineMs"),
        ("Reco:Gateway:BreakerFailureThreshold", "Orleans sends calls to live silos only; remove the setting"),
        ("Reco:Gateway:BreakerBreakMs", "Orleans sends calls to live silos only; remove the setting"),
        ("Reco:Kafka:GroupId", "ingresses are assigned their partitions and join no consumer group; remove the setting"),
        ("Reco:Neighborhoods:RoundTimeoutSeconds", "a round runs inside one call of the round grain; remove the setting"),
    ];

    /// <summary>One message per removed setting that <paramref name="configuration"/> sets.</summary>
    public static IEnumerable<string> Failures(IConfiguration configuration) =>
        Removed.Where(r => configuration.GetSection(r.Key).Exists()).Select(r => $"{r.Key} is no longer a setting: {r.Instead}.");
}

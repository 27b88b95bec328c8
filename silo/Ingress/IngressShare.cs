namespace RecoCluster.Silo.Ingress;

/// <summary>One ingress's limits (<see cref="IngressMemoryBudget.Share"/>): the most records a batch takes, and the
/// most its reader holds read ahead.</summary>
public readonly record struct IngressShare(int BatchRecords, int BufferedRecords);

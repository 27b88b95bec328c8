namespace RecoCluster.Silo.Ingress;

/// <summary>One ingress's limits (<see cref="IngressMemoryBudget.Share"/>): the most records a batch takes, the most
/// its reader holds read ahead, and the most users it keeps in memory once stored.</summary>
public readonly record struct IngressShare(int BatchRecords, int BufferedRecords, int UsersInMemory);

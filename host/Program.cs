using RecoCluster.Cluster;
using RecoCluster.Host;

// Before anything can touch Kafka: the bundled librdkafka, never the machine's.
KafkaNativeLibrary.Use();

return await Commands.RunAsync(args);

using RecoCluster.Host;

return await Commands.RunAsync(args);

// Helpers of the data-parallel tests: a free loopback port, and ranks run as threads of the test process (Gloo
// works between threads as between processes), each failure rethrown with its rank.
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace MLNet.Transformer.TestKit;

/// <summary>Loopback ports and ranks on threads for the data-parallel tests.</summary>
public static class LoopbackRanks
{
    /// <summary>A port on 127.0.0.1 that nothing listened on a moment ago (the OS's pick).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs <paramref name="body"/> for ranks 0..world-1 on their own threads; rethrows the first failure.</summary>
    public static T[] Run<T>(int world, Func<int, T> body)
    {
        var results = new T[world];
        var errors = new Exception?[world];
        var threads = Enumerable.Range(0, world).Select(rank => new Thread(() =>
        {
            try
            {
                results[rank] = body(rank);
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromMinutes(3)), "a rank hung"));
        if (errors.FirstOrDefault(e => e is not null) is { } first)
        {
            throw new InvalidOperationException($"rank {Array.IndexOf(errors, first)} failed: {first.Message}", first);
        }

        return results;
    }
}

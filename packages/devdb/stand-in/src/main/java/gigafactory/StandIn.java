package gigafactory;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * Starts an in-memory MongoDB stand-in on 127.0.0.1 and prints one line,
 * {@code GF_STANDIN_READY mongodb://127.0.0.1:PORT}, to stdout.
 *
 * <p>Usage: {@code java -jar stand-in.jar [port]} (port 0, the default, picks a free one).
 * It exits on SIGTERM and when stdin reaches EOF, so it dies with the process that
 * started it even if that process is SIGKILLed (its end of the pipe closes).
 */
public final class StandIn {
  /**
   * Reported in hello/buildInfo. The library's own ServerVersion.MONGO_5_0 says wire
   * version 8 (MongoDB 4.2), which the Node driver 7.x refuses (it needs 9+); 13 is
   * what a real 5.0 reports. Nothing else in the server reads this.
   */
  private static final MongoVersion MONGO_5_0 = new MongoVersion() {
    @Override
    public List<Integer> getVersionArray() {
      return List.of(5, 0, 0);
    }

    @Override
    public int getWireVersion() {
      return 13;
    }
  };

  public static void main(String[] args) throws IOException {
    // Must be set before the first slf4j logger is created.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");

    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    MongoServer server = new MongoServer(new MemoryBackend().version(MONGO_5_0));
    // The oplog backs change streams (insert events with fullDocument).
    server.enableOplog();
    server.bind("127.0.0.1", port);
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "stand-in-shutdown"));

    System.out.println("GF_STANDIN_READY mongodb://127.0.0.1:" + server.getLocalAddress().getPort());
    System.out.flush();

    // Block until the parent closes our stdin (or dies); what it writes is ignored.
    InputStream in = System.in;
    byte[] sink = new byte[256];
    while (in.read(sink) != -1) {
      // keep draining
    }
    System.exit(0);
  }
}

// Ctrl-C as a request: long jobs stop at their next safe point (after the step in flight, with a checkpoint)
// instead of dying mid-write. A second Ctrl-C exits at once.
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Interrupt {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var flag = false
    nonisolated(unsafe) private static var source: DispatchSourceSignal?

    public static var requested: Bool { lock.lock(); defer { lock.unlock() }; return flag }

    /// Sets the request by hand (tests; a job that wants its loop to end as if interrupted).
    public static func request(_ on: Bool = true) { lock.lock(); flag = on; lock.unlock() }

    /// - Parameter message: what the first Ctrl-C prints (what the job does before it stops).
    public static func install(message: String = "finishing the work in flight and saving state") {
        signal(SIGINT, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        s.setEventHandler {
            lock.lock()
            let again = flag
            flag = true
            lock.unlock()
            if again { exit(130) }
            FileHandle.standardError.write(Data("\ninterrupt: \(message) (Ctrl-C again to quit now)\n".utf8))
        }
        s.resume()
        source = s
    }
}

// The buffer pool of the training commands (`train`, `teacher train`, `bench teacher-train`): one policy, one place.
import TensorCore

enum TrainingPool {
    static let options = [
        Option(name: "--pool-mib", value: "M", help: "Capacity of TensorCore's buffer pool (freed large buffers kept for reuse; it never holds more than the step's peak)", defaultValue: "4096"),
        Option(name: "--pool-slack-mib", value: "M", help: "How far past the most ever in use at once the pool may hold freed buffers before it frees the oldest", defaultValue: "1024"),
    ]

    static func configure(_ args: Arguments) throws {
        // The pool frees its buffers whenever holding them would pass the most ever handed out at once, so a large cap
        // costs no memory; 512 MiB evicted buffers a stage-1 step needs again (world128, batch 8: 8.4 -> 4.9 s of
        // page-fault system time per 12 steps, Gmain 8.8 -> 8.0 s, the same peak RSS). The teacher's U-Net step at
        // batch 32 spent 16% of its time in the kernel zeroing fresh pages with TensorCore's defaults (session 26).
        BufferPool.shared.capacityBytes = try args.int("--pool-mib", default: 4096, range: 0...1 << 20) << 20
        // Slack: TensorCore's default (64 MiB, for inference) let the phases of a world-supervised stage-0 step evict
        // each other's buffers, so every step mapped fresh ones and the kernel zeroed them (clear_page 8% of the
        // profile). 40 steps of world128 Grec, batch 8, one thread: 64 MiB -> 1024 MiB, system time 9.7 -> 3.0 s, step
        // 2.05 -> 1.70 s (median), peak RSS 1.00 -> 1.36 GB; 4096 MiB gave the same as 1024.
        BufferPool.shared.slackBytes = try args.int("--pool-slack-mib", default: 1024, range: 0...1 << 20) << 20
    }
}

import Foundation
import NNUNetCore

/// What a training run has recorded so far: v1's `plot_stuff` and `best_stuff`, saved in every checkpoint.
public struct TrainingLog: Codable, Sendable, Equatable {
    /// Completed epochs.
    public var epoch = 0
    /// Mean training loss per epoch (v1 `all_tr_losses`).
    public var trainLosses: [Double] = []
    /// Mean validation loss per epoch (v1 `all_val_losses`); NaN for an epoch without validation batches.
    public var validationLosses: [Double] = []
    /// Online pseudo-Dice per epoch (mean over foreground classes).
    public var validationMetrics: [Double] = []
    /// Exponential moving average of the training loss (v1 `train_loss_MA`); nil before the first epoch.
    public var trainLossMovingAverage: Double?
    /// EMA of the pseudo-Dice, or −validation loss when there is no finite metric (v1 `val_eval_criterion_MA`).
    public var metricMovingAverage: Double?
    /// Best ``metricMovingAverage`` so far (v1 `best_val_eval_criterion_MA`); `model_best` was saved then.
    public var bestMetricMovingAverage: Double?
    /// Epoch (counted from 0) at which ``bestMetricMovingAverage`` was reached; nil before the first epoch.
    public var bestEpoch: Int?

    /// An empty log (no epoch completed).
    public init() {}
}

/// Appends timestamped lines to `training_log_YYYY_M_D_HH_MM_SS.txt` and echoes them to stdout, as v1's
/// `print_to_log_file`.
///
/// `@unchecked Sendable`: every stored property is immutable, and ``print(_:)`` writes a whole line to the file and
/// the console under one lock, so lines from several threads never interleave.
public final class TrainingLogFile: @unchecked Sendable {
    /// The log file, `training_log_YYYY_M_D_HH_MM_SS.txt` in the fold folder.
    public let url: URL
    private let handle: FileHandle?
    private let lock = NSLock()
    /// Whether lines are also printed to stdout.
    public let echoesToConsole: Bool

    /// Creates the log file in `folder`, named after the current local time.
    public init(folder: URL, echoesToConsole: Bool = true) {
        let c = Calendar(identifier: .gregorian).dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date())
        let name = String(format: "training_log_%d_%d_%d_%02d_%02d_%02d.txt", c.year ?? 0, c.month ?? 0, c.day ?? 0,
                          c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
        url = folder.appendingPathComponent(name)
        // Opened in place (not created through a temporary and a rename, as FileManager.createFile does), so that a
        // kill leaves no stray temporary.
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        handle = descriptor >= 0 ? FileHandle(fileDescriptor: descriptor, closeOnDealloc: true) : nil
        self.echoesToConsole = echoesToConsole
    }

    private init(discardingTo url: URL) {
        self.url = url
        handle = nil
        echoesToConsole = false
    }

    /// A log that writes nothing: the log of a data-parallel rank other than 0 (rank 0 writes the run's log).
    public static func discarding() -> TrainingLogFile {
        TrainingLogFile(discardingTo: URL(fileURLWithPath: "/dev/null"))
    }

    deinit { try? handle?.close() }

    /// Writes one line (with a timestamp in the file). A line that cannot be written (a full disk) is dropped from
    /// the file, not fatal: the console still gets it.
    public func print(_ message: String) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        lock.lock()
        defer { lock.unlock() }
        try? handle?.write(contentsOf: Data("\(stamp): \(message)\n".utf8))
        if echoesToConsole { Swift.print(message) }
    }
}

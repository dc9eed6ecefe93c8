import Foundation
import NNUNetCore

/// What one training or validation step reports.
public struct StepResult: Sendable {
    /// Mean loss of the step's batch.
    public var loss: Double
    /// Per foreground class: true positives, false positives, false negatives of the argmax (validation only).
    public var truePositives: [Double] = []
    /// False positives of the argmax per foreground class (validation only).
    public var falsePositives: [Double] = []
    /// False negatives of the argmax per foreground class (validation only).
    public var falseNegatives: [Double] = []

    /// Creates a result with a loss and no counts.
    public init(loss: Double) { self.loss = loss }
}

/// The generic epoch loop, checkpoints and logging (v1 `network_training/network_trainer.py`). It knows nothing about
/// plans or segmentation: ``NNUNetTrainer`` adds that.
///
/// The loop is ``runTraining()`` (final); subclasses change behaviour through the `open` hooks. Each hook says whether
/// an override must call `super`.
open class NetworkTrainer {
    /// Where checkpoints, logs and `progress.png` go (`.../fold_k`).
    public let outputFolder: URL
    /// Effective hyperparameters (defaults of the class, then overrides).
    public internal(set) var hyperparameters: TrainingHyperparameters
    /// Losses and metrics recorded so far.
    public internal(set) var log = TrainingLog()
    /// Seed of all randomness of the run.
    public let seed: UInt64
    /// The network (set by ``initialize()``).
    public internal(set) var network: (any SegmentationNetwork)?
    /// The optimizer (set by ``initialize()``; its learning rate follows the poly schedule).
    public internal(set) var optimizer: (any Optimizer)?
    /// Training log file (set by ``initialize()``).
    public internal(set) var logFile: TrainingLogFile?
    /// Whether checkpoints are written (v1 `--disable_saving` turns it off).
    public var savesCheckpoints = true
    /// Print per-epoch lines and the in-epoch progress bar.
    public var isVerbose = true
    /// The ranks of a data-parallel run (`mpirun -np N nnunet train ...`); nil trains in this process alone.
    ///
    /// Each rank trains on its share of the global batch (``NNUNetTrainer/batchShare()``), the steps sum loss terms
    /// and gradients over the ranks, and only rank 0 writes files (checkpoints, logs, `progress.png`). Set it before
    /// ``initialize()``.
    public var communicator: (any Communicator)?
    /// Seconds spent summing gradients over the ranks, over the run so far (0 in a single-process run).
    public internal(set) var gradientReductionSeconds = 0.0
    /// Bytes of gradients each rank sent into the sums per step (0 in a single-process run).
    public internal(set) var gradientReductionBytes = 0

    /// Whether this process writes the run's files: rank 0 of a data-parallel run, or a single process.
    public var isMainRank: Bool { (communicator?.rank ?? 0) == 0 }
    /// The number of ranks (1 in a single-process run).
    public var worldSize: Int { communicator?.size ?? 1 }

    var trainingSource: BatchSource?
    var validationSource: BatchSource?
    var generator: SeededGenerator
    private var isInitialized = false
    /// The output folder's lock while this trainer holds it (``lockOutputFolder(purpose:)``).
    private var folderLock: FolderLock?
    /// Lines for the log file that arise before it exists (taking the lock, sweeping stray temporaries).
    private var pendingLogLines: [String] = []

    /// The class's default hyperparameters; variants override this (e.g. fewer epochs).
    open class var defaultHyperparameters: TrainingHyperparameters { TrainingHyperparameters() }

    /// The name the trainer is registered and saved under (defaults to the class name).
    open class var trainerName: String { String(describing: self) }

    /// Creates a trainer that writes into `outputFolder`.
    ///
    /// - Parameters:
    ///   - outputFolder: The fold folder the trainer writes its checkpoints, logs and plots into.
    ///   - hyperparameters: Overrides of the class's ``defaultHyperparameters``; nil keeps them.
    ///   - seed: Seed of all randomness of the run.
    public init(outputFolder: URL, hyperparameters: TrainingHyperparameters? = nil, seed: UInt64 = 12345) {
        self.outputFolder = outputFolder
        self.hyperparameters = hyperparameters ?? Self.defaultHyperparameters
        self.seed = seed
        self.generator = SeededGenerator(seed: seed)
    }

    // MARK: Hooks

    /// Builds the network. Override to change the architecture: any `SegmentationNetwork` trains with the
    /// default steps.
    open func makeNetwork(generator: inout SeededGenerator) throws -> any SegmentationNetwork {
        preconditionFailure("\(type(of: self)) must override makeNetwork(generator:)")
    }

    /// Builds the optimizer (v1: SGD, Nesterov momentum 0.99, weight decay 3e-5). Override to use another one,
    /// e.g. `Adam` (``NNUNetTrainerV2_Adam``); its `Optimizer.stateBuffers` go into the checkpoints and a
    /// resume restores them. The learning rate it starts with is replaced by ``learningRate(epoch:)`` every epoch.
    open func makeOptimizer(parameters: [Tensor]) -> any Optimizer {
        SGD(parameters: parameters, learningRate: Float(hyperparameters.initialLearningRate),
            momentum: Float(hyperparameters.momentum), weightDecay: Float(hyperparameters.weightDecay),
            nesterov: hyperparameters.nesterov)
    }

    /// The learning rate of an epoch (v1: poly schedule).
    open func learningRate(epoch: Int) -> Double {
        PolyLearningRate(initial: hyperparameters.initialLearningRate, maxEpochs: hyperparameters.maxEpochs,
                         exponent: hyperparameters.polyExponent)(epoch: min(epoch, hyperparameters.maxEpochs - 1))
    }

    /// Builds the training and validation batch sources.
    open func makeDataLoaders() throws -> (training: BatchSource, validation: BatchSource) {
        preconditionFailure("\(type(of: self)) must override makeDataLoaders()")
    }

    /// One training iteration: forward, loss, backward, ``NetworkTrainer/reduceGradients()``, clipping, optimizer step. Returns the
    /// loss of the global batch (in a data-parallel run: summed over the ranks' weighted parts).
    open func trainStep(_ batch: TrainingBatch) -> StepResult {
        preconditionFailure("\(type(of: self)) must override trainStep(_:)")
    }

    /// One validation iteration without gradients: the loss of the global batch and the argmax confusion counts of
    /// this rank's samples (the loop sums those over the ranks).
    open func validationStep(_ batch: TrainingBatch) -> StepResult {
        preconditionFailure("\(type(of: self)) must override validationStep(_:)")
    }

    /// Called once before the first epoch. Overrides must call `super`.
    open func onTrainingStart() throws {}

    /// Called after the last epoch. Overrides must call `super` (it writes the final checkpoint).
    open func onTrainingEnd() throws {
        try saveCheckpoint(named: "model_final_checkpoint")
        guard isMainRank else { return }
        for suffix in ["", ".json"] {
            try? FileManager.default.removeItem(at: outputFolder.appendingPathComponent("model_latest.model" + suffix))
        }
    }

    /// Called at the start of every epoch: sets the learning rate. Overrides must call `super`.
    open func onEpochStart() {
        optimizer?.learningRate = Float(learningRate(epoch: log.epoch))
    }

    /// Called after every epoch (log.epoch already counts it): moving averages, `model_best`, `model_latest`,
    /// `progress.png`. Returns whether to continue. Overrides must call `super` and return false to stop early.
    open func onEpochEnd() throws -> Bool {
        let h = hyperparameters
        if let metric = log.validationMetrics.last, metric.isFinite {
            log.metricMovingAverage = log.metricMovingAverage.map { h.metricMovingAverageAlpha * $0
                + (1 - h.metricMovingAverageAlpha) * metric } ?? metric
        } else if let loss = log.validationLosses.last {
            log.metricMovingAverage = -loss
        }
        if let loss = log.trainLosses.last {
            log.trainLossMovingAverage = log.trainLossMovingAverage.map { h.trainLossMovingAverageAlpha * $0
                + (1 - h.trainLossMovingAverageAlpha) * loss } ?? loss
        }
        if let ema = log.metricMovingAverage, ema > (log.bestMetricMovingAverage ?? -.infinity) {
            log.bestMetricMovingAverage = ema
            log.bestEpoch = log.epoch - 1
            logFile?.print("New best EMA pseudo Dice: \(String(format: "%.4f", ema))")
            try saveCheckpoint(named: "model_best")
        }
        if h.saveLatestEvery > 0, log.epoch % h.saveLatestEvery == 0 { try saveCheckpoint(named: "model_latest") }
        if isMainRank {
            try ProgressPlot(trainingLoss: log.trainLosses, validationLoss: log.validationLosses,
                         evaluationMetric: log.validationMetrics).write(to: outputFolder.appendingPathComponent("progress.png"))
        }
        return log.epoch < h.maxEpochs
    }

    /// Extra, subclass-specific fields stored in each checkpoint's JSON (e.g. the plans, as JSON text).
    open func checkpointExtras() -> [String: String] { [:] }

    /// Writes the checkpoint `NAME.model` (and its readable copy `NAME.model.json`) into the output folder: one
    /// safetensors file with the weights, the optimizer's state and the metadata, renamed into place once. No-op when
    /// saving is disabled and on data-parallel ranks other than 0. Override to save more next to it (call `super`).
    /// - Throws: ``TrainingError/nonFiniteTraining(folder:epoch:problem:lastFiniteCheckpoint:)`` without writing
    ///   anything when a parameter or momentum buffer is NaN or infinite, so that the last finite checkpoints stay.
    open func saveCheckpoint(named name: String) throws {
        try writeCheckpoint(named: name)
    }

    /// Loads weights, optimizer state, epoch, logs and hyperparameters from a checkpoint (ours, written by
    /// ``saveCheckpoint(named:)``), so that training continues with the same schedule and counters. Override to
    /// restore more (call `super`).
    /// - Throws: ``TrainingError/corruptCheckpoint(path:reason:)`` naming the file.
    open func loadCheckpoint(from weightsURL: URL) throws {
        try restoreCheckpoint(from: weightsURL)
    }

    /// The epoch's validation metric, from the confusion counts that the validation steps reported and the loop
    /// summed (over the ranks too), and the lines to log about it. The generic trainer knows no metric: NaN, so that
    /// `model_best` follows the validation loss. ``NNUNetTrainer`` returns v1's global pseudo-Dice.
    ///
    /// - Returns: the metric (higher is better) and lines for the log.
    open func validationMetric(truePositives: [Double], falsePositives: [Double], falseNegatives: [Double])
        -> (value: Double, logLines: [String]) {
        (.nan, [])
    }

    // MARK: The loop

    /// Creates the output folder, the log file, the network and optimizer, and the data loaders (once).
    public final func initialize() throws {
        guard !isInitialized else { return }
        if isMainRank {
            try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
            logFile = TrainingLogFile(folder: outputFolder, echoesToConsole: isVerbose)
        } else {
            logFile = TrainingLogFile.discarding()
        }
        for line in pendingLogLines { logFile?.print(line) }
        pendingLogLines = []
        var networkGenerator = generator.fork()
        let network = try makeNetwork(generator: &networkGenerator)
        self.network = network
        optimizer = makeOptimizer(parameters: network.parameters())
        isInitialized = true
    }

    /// Takes the output folder's `FolderLock` (creating the folder) and removes the stray temporary files of
    /// killed runs from it (and those of dead processes of this machine from the trainer folder above it, which the
    /// folds share: `plans.json`, `gt_niftis/`). Held until
    /// ``unlockOutputFolder()``; ``runTraining()`` takes it for its own duration when the caller has not.
    ///
    /// - Returns: whether the lock was taken now (false: this trainer already held it).
    /// - Throws: `CoreError.folderLocked(path:holder:)` naming the other run's process id and start time when
    ///   another run (process or thread) trains this fold.
    @discardableResult
    public final func lockOutputFolder(purpose: String? = nil) throws -> Bool {
        if let folderLock, folderLock.isHeld { return false }
        let lock = try FolderLock.acquire(outputFolder, purpose: purpose ?? "training \(Self.trainerName)")
        folderLock = lock
        if let previous = lock.previousHolder {
            pendingLogLines.append("Took over the lock of a finished or killed run (\(previous))")
        }
        let removed = TemporaryFile.sweep(outputFolder, startedBefore: lock.acquiredAt)
            + TemporaryFile.sweepShared(outputFolder.deletingLastPathComponent(), depth: 1)
        if !removed.isEmpty {
            pendingLogLines.append("Removed \(removed.count) temporary file(s) left by an interrupted run: "
                                   + removed.map(\.lastPathComponent).joined(separator: ", "))
        }
        return true
    }

    /// Releases the output folder's lock (no-op when not held).
    public final func unlockOutputFolder() {
        folderLock?.release()
        folderLock = nil
    }

    /// Trains from the current epoch to `maxEpochs` (a resumed trainer continues where its checkpoint stopped).
    ///
    /// Stops with ``TrainingError/nonFiniteTraining(folder:epoch:problem:lastFiniteCheckpoint:)`` after
    /// ``TrainingHyperparameters/nonFiniteLossLimit`` consecutive non-finite training losses, or when a checkpoint
    /// would hold non-finite weights.
    public final func runTraining() throws {
        // In a data-parallel run, rank 0 holds the lock for the job.
        let lockedHere = isMainRank ? try lockOutputFolder() : false
        defer { if lockedHere { unlockOutputFolder() } }
        try initialize()
        guard let network, let logFile else { return }
        try synchronizeRanks()
        let (training, validation) = try makeDataLoaders()
        trainingSource = training
        validationSource = validation
        defer { training.shutdown(); validation.shutdown() }
        logFile.print("Trainer \(Self.trainerName), hyperparameters: \(describe(hyperparameters))")
        logFile.print("Network: \(network.parameterCount) parameters")
        if let communicator { logFile.print("Data-parallel training: \(communicator.size) ranks") }
        try onTrainingStart()
        var nonFiniteLosses = 0
        while log.epoch < hyperparameters.maxEpochs {
            let start = Date()
            onEpochStart()
            logFile.print("\nepoch: \(log.epoch)")
            network.train()
            var trainLoss = 0.0
            let iterations = hyperparameters.iterationsPerEpoch
            for iteration in 0..<iterations {
                let batch = try training.nextBatch()
                let loss = trainStep(batch).loss
                trainLoss += loss
                if loss.isFinite {
                    nonFiniteLosses = 0
                } else {
                    nonFiniteLosses += 1
                    if nonFiniteLosses >= TrainingHyperparameters.nonFiniteLossLimit {
                        if isVerbose { ProgressBar.finish() }
                        throw nonFiniteError("the training loss was \(loss) in \(nonFiniteLosses) consecutive "
                                             + "iterations (the last: iteration \(iteration))")
                    }
                }
                if isVerbose { ProgressBar.show(iteration + 1, of: iterations, label: "epoch \(log.epoch)") }
            }
            if isVerbose { ProgressBar.finish() }
            log.trainLosses.append(trainLoss / Double(max(iterations, 1)))
            logFile.print("train loss : \(String(format: "%.4f", log.trainLosses.last ?? .nan))")

            network.eval()
            var validationLoss = 0.0
            var tp: [Double] = [], fp: [Double] = [], fn: [Double] = []
            let validationIterations = hyperparameters.validationIterationsPerEpoch
            for _ in 0..<validationIterations {
                let batch = try validation.nextBatch()
                let result = withoutGradients { validationStep(batch) }
                validationLoss += result.loss
                if tp.isEmpty {
                    tp = result.truePositives; fp = result.falsePositives; fn = result.falseNegatives
                } else {
                    for c in tp.indices {
                        tp[c] += result.truePositives[c]; fp[c] += result.falsePositives[c]
                        fn[c] += result.falseNegatives[c]
                    }
                }
            }
            if let communicator, communicator.size > 1, !tp.isEmpty {
                // The global batch's confusion counts (each rank counted its own samples).
                let summed = communicator.allreduceSum(tp + fp + fn)
                let n = tp.count
                tp = Array(summed[0..<n]); fp = Array(summed[n..<(2 * n)]); fn = Array(summed[(2 * n)...])
            }
            log.validationLosses.append(validationIterations > 0 ? validationLoss / Double(validationIterations) : .nan)
            let metric = validationMetric(truePositives: tp, falsePositives: fp, falseNegatives: fn)
            log.validationMetrics.append(metric.value)
            logFile.print("validation loss: \(String(format: "%.4f", log.validationLosses.last ?? .nan))")
            for line in metric.logLines { logFile.print(line) }
            log.epoch += 1
            let keepGoing = try onEpochEnd()
            logFile.print("lr: \(String(format: "%.6f", Double(optimizer?.learningRate ?? 0)))")
            logFile.print("This epoch took \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            if !keepGoing { break }
        }
        try onTrainingEnd()
    }

    /// Sums the gradients of all parameters over the ranks (no-op in a single-process run): after it, every rank
    /// holds the gradient of the global batch's loss, provided each rank's loss was weighted by its share of the
    /// batch. Called by the step between `backward()` and clipping; a custom ``trainStep(_:)`` must call it there.
    public final func reduceGradients() {
        guard let communicator, communicator.size > 1, let network else { return }
        let start = Date()
        let parameters = network.parameters().filter { $0.grad != nil }
        var flat: [Float] = []
        flat.reserveCapacity(parameters.reduce(0) { $0 + $1.count })
        for parameter in parameters { flat += parameter.grad!.data }
        flat.withUnsafeMutableBufferPointer { communicator.allreduceSum($0) }
        var offset = 0
        for parameter in parameters {
            let count = parameter.count
            parameter.grad = Tensor(shape: parameter.shape, data: Array(flat[offset..<(offset + count)]))
            offset += count
        }
        gradientReductionBytes = flat.count * MemoryLayout<Float>.size
        gradientReductionSeconds += Date().timeIntervalSince(start)
    }

    /// Makes every rank start from rank 0's state: the weights and optimizer state are broadcast from rank 0, and
    /// ranks that continued from different epochs are refused. No-op in a single-process run.
    /// - Throws: `CoreError.distributed` when the ranks disagree on the epoch.
    public final func synchronizeRanks() throws {
        guard let communicator, communicator.size > 1, let network else { return }
        let epochs = communicator.allreduceSum([Double(log.epoch), Double(log.epoch * log.epoch)])
        let n = Double(communicator.size)
        guard epochs[0] * epochs[0] == epochs[1] * n else {
            throw CoreError.distributed("the ranks start from different epochs (mean \(epochs[0] / n)): every rank "
                                        + "must read the same checkpoint, so the fold folder must be on a file "
                                        + "system all machines share")
        }
        for parameter in network.parameters() { parameter.assign(communicator.broadcast(parameter.data)) }
        if let optimizer {
            var buffers = optimizer.stateBuffers
            for slot in buffers.keys.sorted() {
                buffers[slot] = buffers[slot]?.map { $0.map { communicator.broadcast($0) } }
            }
            try optimizer.restoreStateBuffers(buffers)
        }
    }

    private func describe(_ h: TrainingHyperparameters) -> String {
        "epochs \(h.maxEpochs) x \(h.iterationsPerEpoch) iterations (+\(h.validationIterationsPerEpoch) validation), "
            + "lr \(h.initialLearningRate), momentum \(h.momentum), weight decay \(h.weightDecay), "
            + "optimizer \(optimizer.map { String(describing: $0) } ?? "none")"
    }
}

/// An in-place progress bar on stderr, shown only when stderr is a terminal.
enum ProgressBar {
    static let isTerminal = isatty(STDERR_FILENO) != 0

    static func show(_ done: Int, of total: Int, label: String) {
        guard isTerminal, total > 0 else { return }
        let width = 30, filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
    }

    static func finish() {
        guard isTerminal else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}

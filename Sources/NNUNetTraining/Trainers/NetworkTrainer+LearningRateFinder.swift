import Foundation
import NNUNetCore

/// The result of a learning-rate sweep: the learning rate of every iteration and the smoothed loss after it.
public struct LearningRateSweep: Codable, Sendable, Equatable {
    /// Learning rate used in each iteration, growing geometrically.
    public var learningRates: [Double]
    /// Bias-corrected exponential moving average of (loss + 1) after each iteration (v1 adds 1 so that the Dice
    /// part, which is negative, keeps the average positive).
    public var smoothedLosses: [Double]

    enum CodingKeys: String, CodingKey {
        case learningRates = "learning_rates", smoothedLosses = "smoothed_losses"
    }

    /// Creates a sweep from its two series.
    public init(learningRates: [Double], smoothedLosses: [Double]) {
        self.learningRates = learningRates
        self.smoothedLosses = smoothedLosses
    }
}

/// v1's smoothing of the sweep's losses: a bias-corrected exponential moving average of loss + 1, and the stop
/// once it exceeds 4 × the best value so far.
public struct SweepLossSmoother: Sendable {
    /// The averaging factor (v1: 0.98).
    public var beta: Double
    private var average = 0.0, best = 0.0, count = 0

    /// Creates a smoother with factor `beta`.
    public init(beta: Double = 0.98) { self.beta = beta }

    /// Adds one iteration's loss; returns the smoothed value, or nil when the loss is exploding and the sweep stops.
    public mutating func add(loss: Double) -> Double? {
        count += 1
        average = beta * average + (1 - beta) * (loss + 1)
        let smoothed = average / (1 - pow(beta, Double(count)))
        if count > 1 && smoothed > 4 * best { return nil }
        if smoothed < best || count == 1 { best = smoothed }
        return smoothed
    }
}

extension NetworkTrainer {
    /// v1's `find_lr` (`nnUNet_train ... --find_lr`): instead of training, runs up to `iterations` training steps
    /// with the learning rate growing geometrically from `initial` to `final`, tracks the bias-corrected moving
    /// average (factor `beta`) of loss + 1, stops once it exceeds 4 × the best value so far, and writes
    /// `lr_finder.png` (v1's plot) and `lr_finder.json` (both series) into the output folder. No checkpoint is
    /// written and the network is left as the sweep made it.
    @discardableResult
    public func findLearningRate(iterations: Int = 1000, initial: Double = 1e-6, final: Double = 10,
                                 beta: Double = 0.98) throws -> LearningRateSweep {
        precondition(iterations >= 1 && initial > 0 && final > initial && (0..<1).contains(beta),
                     "findLearningRate: iterations \(iterations), range \(initial)...\(final), beta \(beta)")
        try initialize()
        guard let optimizer else { preconditionFailure("findLearningRate: no optimizer after initialize()") }
        let (training, validation) = try makeDataLoaders()
        defer {
            training.shutdown()
            validation.shutdown()
        }
        network?.train()
        let factor = pow(final / initial, 1 / Double(iterations))
        var learningRate = initial
        var smoother = SweepLossSmoother(beta: beta)
        var sweep = LearningRateSweep(learningRates: [], smoothedLosses: [])
        for iteration in 1...iterations {
            optimizer.learningRate = Float(learningRate)
            guard let smoothed = smoother.add(loss: trainStep(try training.nextBatch()).loss) else { break }
            sweep.learningRates.append(learningRate)
            sweep.smoothedLosses.append(smoothed)
            if isVerbose { ProgressBar.show(iteration, of: iterations, label: "lr \(String(format: "%.2e", learningRate))") }
            learningRate *= factor
        }
        if isVerbose { ProgressBar.finish() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(sweep), to: outputFolder.appendingPathComponent("lr_finder.json"))
        try LearningRateFinderPlot(sweep: sweep).write(to: outputFolder.appendingPathComponent("lr_finder.png"))
        logFile?.print("Learning-rate sweep: \(sweep.learningRates.count) iterations up to lr "
                       + String(format: "%.3g", sweep.learningRates.last ?? 0) + "; lr_finder.png written")
        return sweep
    }
}

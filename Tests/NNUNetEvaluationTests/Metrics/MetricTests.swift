import Testing
import NNUNetCore
@testable import NNUNetEvaluation

@Suite("Metrics and confusion counting")
struct MetricTests {
    /// Plain reference: four boolean passes per label, as v1's ConfusionMatrix does.
    static func naiveCounts(_ p: [Float], _ r: [Float], _ label: Float) -> ConfusionCounts {
        var tp = 0, fp = 0, tn = 0, fn = 0
        for (a, b) in zip(p, r) {
            switch (a == label, b == label) {
            case (true, true): tp += 1
            case (true, false): fp += 1
            case (false, false): tn += 1
            case (false, true): fn += 1
            }
        }
        return ConfusionCounts(truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn)
    }

    @Test("one-pass counting equals per-label counting", arguments: [1, 2, 3])
    func counting(threads: Int) {
        var state: UInt64 = 17
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let values: [Float] = [0, 1, 2, 3, 300, -1, 2.5]
        let n = 200_003
        let p = (0..<n).map { _ in values[Int(next() % 7)] }, r = (0..<n).map { _ in values[Int(next() % 7)] }
        let labels = [1, 2, 300, -1, 42, 1]
        let counts = ConfusionCounting.counts(prediction: p, reference: r, labels: labels, threads: threads)
        for (label, count) in zip(labels, counts) { #expect(count == Self.naiveCounts(p, r, Float(label)), "\(label)") }
        let single = ConfusionCounting.counts(prediction: p, reference: r, labels: [2], threads: threads)
        #expect(single == [Self.naiveCounts(p, r, 2)])
    }

    @Test("byte counting equals Float counting, labels outside 0...255 included", arguments: [1, 2, 3])
    func byteCounting(threads: Int) {
        var state: UInt64 = 5
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        for n in [0, 1, 31, 8160, 8161, 200_003] {
            let values: [UInt8] = [0, 1, 2, 3, 255]
            let p = (0..<n).map { _ in values[Int(next() % 5)] }, r = (0..<n).map { _ in values[Int(next() % 5)] }
            let labels = [1, 2, 255, 256, -1, 0, 1]
            let bytes = ConfusionCounting.counts(prediction: p, reference: r, labels: labels, threads: threads)
            let floats = ConfusionCounting.counts(prediction: p.map { Float($0) }, reference: r.map { Float($0) },
                                                  labels: labels, threads: threads)
            #expect(bytes == floats, "\(n) voxels")
        }
    }

    @Test("label maps score as their volumes: bytes, Float and mixed storage")
    func labelMapScores() throws {
        var state: UInt64 = 9
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let shape = [6, 20, 30], n = 3600
        let geometry = ImageGeometry(spacing: [2, 1, 1])
        let prediction = Volume(data: (0..<n).map { _ in Float(next() % 3) }, shape: shape, geometry: geometry)
        let reference = Volume(data: (0..<n).map { _ in Float(next() % 3) }, shape: shape, geometry: geometry)
        var wide = reference
        wide.data[7] = 1000  // not a byte: stored as Float
        let options = EvaluationOptions(labels: [1, 2, 1000])
        for (p, r) in [(prediction, reference), (prediction, wide), (wide, prediction)] {
            let expected = try CaseEvaluator.evaluate(prediction: p, reference: r, caseName: "c", options: options)
            let maps = try CaseEvaluator.evaluate(prediction: LabelMap(p), reference: LabelMap(r), caseName: "c",
                                                  options: options)
            #expect(maps.map { $0.label } == expected.map { $0.label })
            for (a, b) in zip(maps, expected) {
                #expect(a.values.keys.sorted() == b.values.keys.sorted())
                for (key, value) in b.values { #expect(a.values[key]! == value || (a.values[key]!.isNaN && value.isNaN), "\(key)") }
            }
        }
        if case .uint8 = LabelMap(prediction).voxels {} else { Issue.record("a 0...2 label map should be bytes") }
        if case .float = LabelMap(wide).voxels {} else { Issue.record("a map with label 1000 should be Float") }
        #expect(throws: EvaluationError.self) {
            try CaseEvaluator.evaluate(prediction: LabelMap(prediction),
                                       reference: LabelMap(Volume(data: [0], shape: [1, 1, 1], geometry: geometry)),
                                       caseName: "c", options: options)
        }
    }

    @Test("NaN rules follow v1")
    func nanRules() {
        func value(_ metric: SegmentationMetric, _ tp: Int, _ fp: Int, _ tn: Int, _ fn: Int) -> Double {
            metric.value(for: ConfusionCounts(truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn))
        }
        // Both empty: Dice/Jaccard/Precision/Recall NaN; TNR, FPR, Accuracy defined.
        #expect(value(.dice, 0, 0, 10, 0).isNaN && value(.jaccard, 0, 0, 10, 0).isNaN)
        #expect(value(.precision, 0, 0, 10, 0).isNaN && value(.falseDiscoveryRate, 0, 0, 10, 0).isNaN)
        #expect(value(.recall, 0, 0, 10, 0).isNaN && value(.falseNegativeRate, 0, 0, 10, 0).isNaN)
        #expect(value(.trueNegativeRate, 0, 0, 10, 0) == 1 && value(.falsePositiveRate, 0, 0, 10, 0) == 0)
        #expect(value(.accuracy, 0, 0, 10, 0) == 1)
        // Only false positives: Dice 0, recall NaN; only false negatives: Dice 0, precision NaN.
        #expect(value(.dice, 0, 5, 5, 0) == 0 && value(.recall, 0, 5, 5, 0).isNaN)
        #expect(value(.dice, 0, 0, 5, 5) == 0 && value(.precision, 0, 0, 5, 5).isNaN)
        // Reference full: TNR/FPR NaN; test full: FOR/NPV NaN.
        #expect(value(.trueNegativeRate, 7, 0, 0, 3).isNaN && value(.falsePositiveRate, 7, 0, 0, 3).isNaN)
        #expect(value(.falseOmissionRate, 7, 3, 0, 0).isNaN && value(.negativePredictiveValue, 7, 3, 0, 0).isNaN)
        // Formulas.
        #expect(value(.dice, 3, 1, 10, 2) == 6.0 / 9.0 && value(.jaccard, 3, 1, 10, 2) == 3.0 / 6.0)
        #expect(value(.totalPositivesTest, 3, 1, 10, 2) == 4 && value(.totalPositivesReference, 3, 1, 10, 2) == 5)
        #expect(SegmentationMetric.v1Defaults.map(\.rawValue) == SegmentationMetric.v1Defaults.map(\.rawValue).sorted())
        #expect(SegmentationMetric.v1Defaults.count == 13)
    }

    @Test("nanmean reproduces numpy's pairwise summation")
    func nanmean() {
        #expect(NumPyMean.nanmean([.nan, .nan]).isNaN)
        #expect(NumPyMean.nanmean([1, .nan, 3]) == 2)
        // 0.1 summed 10 times: sequential gives 0.9999999999999999, numpy's 8-way blocks give 1.0 (np.sum([0.1]*10)).
        #expect(NumPyMean.pairwiseSum(Array(repeating: 0.1, count: 10)[...]) == 1.0)
        // Recursive halving above 128 values; golden values from numpy 2.4 (np.sum / np.nanmean of 1/(i+3), i < 300).
        let values = (0..<300).map { 1.0 / Double($0 + 3) }
        #expect(NumPyMean.pairwiseSum(values[...]) == 4.789297397713862)
        #expect(values.reduce(0, +) == 4.789297397713856)
        #expect(NumPyMean.nanmean(values + [.nan]) == 0.01596432465904621)
    }
}

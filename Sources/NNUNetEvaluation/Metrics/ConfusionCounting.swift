import NNUNetCore

/// Counts the confusion matrices of several labels in one pass over a (prediction, reference) pair.
///
/// Kernel: every voxel maps its prediction value and its reference value to a slot (the index of the label in
/// `labels`, or "other"), and a per-thread joint histogram H[prediction slot][reference slot] is incremented. For label
/// L with slot s: tp = H[s][s], fp = Σ_r H[s][r] − tp, fn = Σ_p H[p][s] − tp, tn = N − tp − fp − fn. One read of each
/// array, whatever the number of labels (v1 makes four boolean passes per label).
///
/// Layout: both arrays are C-ordered (z, y, x) label maps of equal length, values stored as Float (exact for integer
/// labels below 2^24, which covers every label map).
public enum ConfusionCounting {
    /// The confusion counts of each label in `labels` (same order).
    ///
    /// - Parameters:
    ///   - prediction: predicted labels, C order (z, y, x).
    ///   - reference: reference labels, same count.
    ///   - labels: the labels to count; may repeat or be absent from both arrays (all-zero tp/fp/fn).
    ///   - threads: voxel chunks counted in parallel.
    public static func counts(prediction: [Float], reference: [Float], labels: [Int],
                              threads: Int = ThreadSettings.defaultThreads) -> [ConfusionCounts] {
        precondition(prediction.count == reference.count,
                     "prediction has \(prediction.count) voxels but reference has \(reference.count)")
        return prediction.withUnsafeBufferPointer { p in
            reference.withUnsafeBufferPointer { r in counts(prediction: p, reference: r, labels: labels, threads: threads) }
        }
    }

    /// Pointer variant of ``counts(prediction:reference:labels:threads:)``.
    public static func counts(prediction: UnsafeBufferPointer<Float>, reference: UnsafeBufferPointer<Float>,
                              labels: [Int], threads: Int = ThreadSettings.defaultThreads) -> [ConfusionCounts] {
        precondition(prediction.count == reference.count,
                     "prediction has \(prediction.count) voxels but reference has \(reference.count)")
        let slots = labels.count + 1, other = labels.count
        // Small non-negative integer values map through a table; anything else is compared with the labels.
        var table = [Int32](repeating: Int32(other), count: 256)
        for (i, label) in labels.enumerated().reversed() where label >= 0 && label < 256 { table[label] = Int32(i) }
        let floatLabels = labels.map { Float($0) }
        let n = prediction.count
        let chunks = max(1, min(threads, n / 65_536))
        var histograms = [Int](repeating: 0, count: chunks * slots * slots)
        histograms.withUnsafeMutableBufferPointer { histogramBuffer in
            guard let histogramBase = histogramBuffer.baseAddress, let pBase = prediction.baseAddress,
                  let rBase = reference.baseAddress else { return }
            table.withUnsafeBufferPointer { tableBuffer in
                let lut = tableBuffer.baseAddress!
                @inline(__always) func slot(_ v: Float) -> Int {
                    if v >= 0 && v < 256 {
                        let i = Int(v)
                        if Float(i) == v { return Int(lut[i]) }
                        return other
                    }
                    return floatLabels.firstIndex(of: v) ?? other
                }
                parallelFor(chunks, threads: chunks) { chunkRange in
                    for chunk in chunkRange {
                        // Count into a thread-local histogram (adjacent chunks would share cache lines).
                        var local = [Int](repeating: 0, count: slots * slots)
                        let begin = chunk * n / chunks, end = (chunk + 1) * n / chunks
                        local.withUnsafeMutableBufferPointer { localBuffer in
                            let h = localBuffer.baseAddress!
                            if slots == 3 {
                                // Two labels (the common case): slots 0, 1 and 2 = other.
                                let l0 = floatLabels[0], l1 = floatLabels[1]
                                for i in begin..<end {
                                    let a = pBase[i], b = rBase[i]
                                    let sa = a == l0 ? 0 : (a == l1 ? 1 : 2), sb = b == l0 ? 0 : (b == l1 ? 1 : 2)
                                    h[sa &* 3 &+ sb] &+= 1
                                }
                            } else if slots == 2 {
                                let l0 = floatLabels[0]
                                var tp = 0, fp = 0, fn = 0
                                for i in begin..<end {
                                    let a = pBase[i] == l0, b = rBase[i] == l0
                                    tp &+= (a && b) ? 1 : 0
                                    fp &+= (a && !b) ? 1 : 0
                                    fn &+= (!a && b) ? 1 : 0
                                }
                                h[0] = tp; h[1] = fp; h[2] = fn; h[3] = (end - begin) - tp - fp - fn
                            } else {
                                for i in begin..<end { h[slot(pBase[i]) &* slots &+ slot(rBase[i])] &+= 1 }
                            }
                        }
                        let target = histogramBase + chunk * slots * slots
                        for k in 0..<(slots * slots) { target[k] = local[k] }
                    }
                }
            }
        }
        var joint = [Int](repeating: 0, count: slots * slots)
        for chunk in 0..<chunks { for k in 0..<(slots * slots) { joint[k] += histograms[chunk * slots * slots + k] } }
        return (0..<labels.count).map { s in
            // Repeated labels: use the first slot of that label (the table and firstIndex both pick it).
            let s = labels.firstIndex(of: labels[s]) ?? s
            let tp = joint[s * slots + s]
            let row = (0..<slots).reduce(0) { $0 + joint[s * slots + $1] }
            let column = (0..<slots).reduce(0) { $0 + joint[$1 * slots + s] }
            let fp = row - tp, fn = column - tp
            return ConfusionCounts(truePositives: tp, falsePositives: fp, trueNegatives: n - tp - fp - fn,
                                   falseNegatives: fn)
        }
    }
}

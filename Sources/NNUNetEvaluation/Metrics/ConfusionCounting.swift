import NNUNetCore

/// Counts the confusion matrices of several labels in one pass over a (prediction, reference) pair.
///
/// Kernel: for label L only three numbers are needed, n_test = #(prediction == L), n_ref = #(reference == L) and
/// n_both = #(both == L); then tp = n_both, fp = n_test − tp, fn = n_ref − tp, tn = N − tp − fp − fn. The arrays are
/// walked in cache-sized blocks; each block is counted for every label with 8-wide SIMD compares (the block stays in
/// cache between labels), and blocks are split over threads. v1 makes four boolean passes over the volume per label.
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
    ///   - threads: blocks counted in parallel.
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
        let n = prediction.count, labelCount = labels.count
        let floatLabels = labels.map { Float($0) }
        let block = 8192
        let blocks = (n + block - 1) / block
        let chunks = max(1, min(threads, blocks / 4))
        // Per chunk and label: (n_test, n_ref, n_both).
        var partial = [Int](repeating: 0, count: chunks * labelCount * 3)
        partial.withUnsafeMutableBufferPointer { partialBuffer in
            guard let out = partialBuffer.baseAddress, let p = prediction.baseAddress, let r = reference.baseAddress,
                  labelCount > 0 else { return }
            parallelFor(chunks, threads: chunks) { chunkRange in
                for chunk in chunkRange {
                    var totals = [Int](repeating: 0, count: labelCount * 3)
                    let firstBlock = chunk * blocks / chunks, endBlock = (chunk + 1) * blocks / chunks
                    for b in firstBlock..<endBlock {
                        let begin = b * block, end = min(n, begin + block)
                        for (l, label) in floatLabels.enumerated() {
                            let c = countBlock(p + begin, r + begin, end - begin, label)
                            totals[3 * l] += c.test
                            totals[3 * l + 1] += c.reference
                            totals[3 * l + 2] += c.both
                        }
                    }
                    for k in 0..<(labelCount * 3) { out[chunk * labelCount * 3 + k] = totals[k] }
                }
            }
        }
        return confusionCounts(partial: partial, chunks: chunks, labelCount: labelCount, voxels: n)
    }

    /// The confusion counts of each label in `labels` for byte label maps (NNUNetCore's `LabelMap.Voxels.uint8`).
    ///
    /// Same result as the Float32 variant on the same values: a label outside 0...255 matches no voxel. Each block of
    /// 8160 voxels (two blocks fit in L1) is counted for every label before moving on; blocks are split over threads.
    public static func counts(prediction: [UInt8], reference: [UInt8], labels: [Int],
                              threads: Int = ThreadSettings.defaultThreads) -> [ConfusionCounts] {
        precondition(prediction.count == reference.count,
                     "prediction has \(prediction.count) voxels but reference has \(reference.count)")
        let n = prediction.count, labelCount = labels.count
        let byteLabels = labels.map { (0...255).contains($0) ? UInt8($0) : nil }
        let block = 8160  // < 2^16: countByteBlock sums in 16 bits
        let blocks = (n + block - 1) / block
        let chunks = max(1, min(threads, blocks / 8))
        var partial = [Int](repeating: 0, count: chunks * labelCount * 3)
        prediction.withUnsafeBufferPointer { pBuffer in
            reference.withUnsafeBufferPointer { rBuffer in
                partial.withUnsafeMutableBufferPointer { partialBuffer in
                    guard let out = partialBuffer.baseAddress, let p = pBuffer.baseAddress, let r = rBuffer.baseAddress,
                          labelCount > 0 else { return }
                    parallelFor(chunks, threads: chunks) { chunkRange in
                        for chunk in chunkRange {
                            var totals = [Int](repeating: 0, count: labelCount * 3)
                            let firstBlock = chunk * blocks / chunks, endBlock = (chunk + 1) * blocks / chunks
                            for b in firstBlock..<endBlock {
                                let begin = b * block, end = min(n, begin + block)
                                for (l, label) in byteLabels.enumerated() {
                                    guard let label else { continue }
                                    let c = countByteBlock(p + begin, r + begin, end - begin, label)
                                    totals[3 * l] += c.test
                                    totals[3 * l + 1] += c.reference
                                    totals[3 * l + 2] += c.both
                                }
                            }
                            for k in 0..<(labelCount * 3) { out[chunk * labelCount * 3 + k] = totals[k] }
                        }
                    }
                }
            }
        }
        return confusionCounts(partial: partial, chunks: chunks, labelCount: labelCount, voxels: n)
    }

    /// Sums the per-chunk (test, reference, both) totals of every label into confusion counts over `voxels`.
    private static func confusionCounts(partial: [Int], chunks: Int, labelCount: Int, voxels n: Int)
        -> [ConfusionCounts] {
        (0..<labelCount).map { l in
            var test = 0, ref = 0, both = 0
            for chunk in 0..<chunks {
                let base = chunk * labelCount * 3 + 3 * l
                test += partial[base]; ref += partial[base + 1]; both += partial[base + 2]
            }
            let tp = both, fp = test - both, fn = ref - both
            return ConfusionCounts(truePositives: tp, falsePositives: fp, trueNegatives: n - tp - fp - fn,
                                   falseNegatives: fn)
        }
    }

    /// (#p == label, #r == label, #both) over `count` < 2^16 bytes. Written as a plain loop with 16-bit sums, which
    /// LLVM vectorises with 16-bit lanes (explicit `SIMD32<UInt8>` compares with `replacing(with:where:)` compiled to
    /// scalar code here, about 100 times slower; 32-bit sums are about 3 times slower).
    @inline(__always)
    static func countByteBlock(_ p: UnsafePointer<UInt8>, _ r: UnsafePointer<UInt8>, _ count: Int,
                               _ label: UInt8) -> (test: Int, reference: Int, both: Int) {
        var test: UInt16 = 0, ref: UInt16 = 0, both: UInt16 = 0
        for i in 0..<count {
            let a: UInt16 = p[i] == label ? 1 : 0, b: UInt16 = r[i] == label ? 1 : 0
            test &+= a
            ref &+= b
            both &+= a & b
        }
        return (Int(test), Int(ref), Int(both))
    }

    /// (#p == label, #r == label, #both) over `count` values (count ≤ 2^31 / 8 per call).
    @inline(__always)
    static func countBlock(_ p: UnsafePointer<Float>, _ r: UnsafePointer<Float>, _ count: Int,
                           _ label: Float) -> (test: Int, reference: Int, both: Int) {
        let vectorLabel = SIMD8<Float>(repeating: label)
        let one = SIMD8<Int32>(repeating: 1), zero = SIMD8<Int32>(repeating: 0)
        var test = zero, ref = zero, both = zero
        var i = 0
        let pr = UnsafeRawPointer(p), rr = UnsafeRawPointer(r)
        while i + 8 <= count {
            let a = pr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) .== vectorLabel
            let b = rr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) .== vectorLabel
            test &+= zero.replacing(with: one, where: a)
            ref &+= zero.replacing(with: one, where: b)
            both &+= zero.replacing(with: one, where: a .& b)
            i += 8
        }
        var t = Int(test.wrappedSum()), f = Int(ref.wrappedSum()), o = Int(both.wrappedSum())
        while i < count {
            let a = p[i] == label, b = r[i] == label
            t += a ? 1 : 0
            f += b ? 1 : 0
            o += (a && b) ? 1 : 0
            i += 1
        }
        return (t, f, o)
    }
}

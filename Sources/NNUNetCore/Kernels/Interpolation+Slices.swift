extension Resampling {
    /// ``resampleProbabilities(_:shape:to:separateAxis:threads:)`` one output slice (index along axis 0) at a time,
    /// for exports that receive the input in slabs along axis 0 and never hold a whole channel.
    ///
    /// Output slice `j` depends only on input slices `sources(ofSlice: j)`: the same slice (shapes equal, or a
    /// separate axis 0 whose length does not change), the nearest one (separate axis 0: in-plane linear, nearest
    /// along axis 0), or the two that linear interpolation along axis 0 blends (no separate axis). Each value is
    /// computed with exactly the arithmetic of the whole-volume functions, so the results are bit-identical. A
    /// separate axis other than 0 mixes slices in-plane and is not supported (``init(shape:newShape:separateAxis:)``
    /// returns nil; resample the whole channel instead).
    public struct ProbabilitySliceResampler: Sendable {
        /// Input (z, y, x) shape.
        public let shape: [Int]
        /// Output (z, y, x) shape.
        public let newShape: [Int]
        private let mode: Mode
        private let ty: LinearTable, tx: LinearTable

        private enum Mode: Sendable {
            /// Output slice j is input slice `source[j]`, resized in-plane when `inPlane` (separate axis 0, or equal
            /// shapes with an identity table).
            case nearest(source: [Int], inPlane: Bool)
            /// Output slice j blends input slices low/high of the table (3D linear resize).
            case linear(LinearTable)
        }

        /// - Parameters:
        ///   - shape: the input shape (z, y, x).
        ///   - newShape: the output shape (z, y, x).
        ///   - separateAxis: as for ``resampleProbabilities(_:shape:to:separateAxis:threads:)``; only nil and 0 are
        ///     supported.
        /// - Returns: nil for a separate axis other than 0 (unless the shapes are equal).
        public init?(shape: [Int], newShape: [Int], separateAxis: Int?) {
            precondition(shape.count == 3 && newShape.count == 3, "ProbabilitySliceResampler: 3D shapes expected")
            self.shape = shape
            self.newShape = newShape
            ty = LinearTable(n: shape[1], m: newShape[1])
            tx = LinearTable(n: shape[2], m: newShape[2])
            let inPlaneChanges = shape[1] != newShape[1] || shape[2] != newShape[2]
            if shape == newShape {
                mode = .nearest(source: Array(0..<shape[0]), inPlane: false)
            } else if separateAxis == nil {
                mode = .linear(LinearTable(n: shape[0], m: newShape[0]))
            } else if separateAxis == 0 {
                // resampleProbabilities: in-plane linear per slice if the in-plane shape changes, then nearest
                // along axis 0 if its length changes.
                let source = shape[0] == newShape[0] ? Array(0..<shape[0])
                    : LinearTable(n: shape[0], m: newShape[0]).nearest
                mode = .nearest(source: source, inPlane: inPlaneChanges)
            } else {
                return nil
            }
        }

        /// The input slices output slice `j` reads (equal when it reads one).
        public func sources(ofSlice j: Int) -> (low: Int, high: Int) {
            switch mode {
            case .nearest(let source, _): return (source[j], source[j])
            case .linear(let tz): return (tz.low[j], tz.high[j])
            }
        }

        /// Whether output slices are plain copies of input slices (no in-plane or axis-0 interpolation).
        public var copiesSlices: Bool {
            if case .nearest(_, let inPlane) = mode { return !inPlane }
            return false
        }

        /// Computes output slice `j` (`newShape[1] × newShape[2]` values) from its input slices.
        ///
        /// - Parameters:
        ///   - j: the output slice, `0..<newShape[0]`.
        ///   - low: input slice `sources(ofSlice: j).low` (`shape[1] × shape[2]` values).
        ///   - high: input slice `sources(ofSlice: j).high` (the same pointer when they are equal).
        ///   - out: room for the output slice.
        ///   - threads: worker threads over output rows.
        public func resample(slice j: Int, low: UnsafePointer<Float>, high: UnsafePointer<Float>,
                             into out: UnsafeMutablePointer<Float>, threads: Int = ThreadSettings.defaultThreads) {
            let width = newShape[2], inWidth = shape[2]
            let (ty, tx) = (self.ty, self.tx)
            let target = UnsafeSendableBox(out), lowBox = UnsafeSendableBox(low), highBox = UnsafeSendableBox(high)
            switch mode {
            case .nearest(_, let inPlane):
                guard inPlane else {
                    out.update(from: low, count: newShape[1] * width)
                    return
                }
                // The 2D resize of resizeLinear: a trivial first-axis table (weights 1 and 0, the same plane).
                parallelFor(newShape[1], threads: threads, minimumChunk: 8) { rows in
                    for oy in rows {
                        linearRow(low: lowBox.value, high: lowBox.value, weightLow: 1, weightHigh: 0, oy: oy,
                                  width: inWidth, ty: ty, tx: tx, into: target.value + oy * width)
                    }
                }
            case .linear(let tz):
                let (weightLow, weightHigh) = (tz.weightLow[j], tz.weightHigh[j])
                parallelFor(newShape[1], threads: threads, minimumChunk: 8) { rows in
                    for oy in rows {
                        linearRow(low: lowBox.value, high: highBox.value, weightLow: weightLow, weightHigh: weightHigh,
                                  oy: oy, width: inWidth, ty: ty, tx: tx, into: target.value + oy * width)
                    }
                }
            }
        }
    }
}

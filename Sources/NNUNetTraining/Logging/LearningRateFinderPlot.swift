import CCairo
import Foundation

/// Draws `lr_finder.png` as v1's `find_lr` does: the smoothed loss against the learning rate on a logarithmic axis,
/// without the first 10 and the last 5 points (v1 `plt.plot(lrs[10:-5], losses[10:-5])`).
public struct LearningRateFinderPlot: Sendable {
    /// The sweep to draw.
    public var sweep: LearningRateSweep
    /// Image width in pixels.
    public var width = 1200
    /// Image height in pixels.
    public var height = 900

    /// Creates the plot of `sweep`.
    public init(sweep: LearningRateSweep) { self.sweep = sweep }

    /// Renders the plot and writes it as PNG, atomically.
    public func write(to url: URL) throws {
        try CairoCanvas.writePNG(width: width, height: height, to: url) { draw($0) }
    }

    /// The points v1 plots: all but the first 10 and the last 5 (all of them for short sweeps).
    var plotted: [(learningRate: Double, loss: Double)] {
        let pairs = Array(zip(sweep.learningRates, sweep.smoothedLosses))
        return pairs.count > 15 ? Array(pairs[10..<(pairs.count - 5)]) : pairs
    }

    private func draw(_ c: OpaquePointer) {
        let left = 110.0, right = Double(width) - 40, top = 40.0, bottom = Double(height) - 80
        cairo_set_source_rgb(c, 1, 1, 1)
        cairo_paint(c)
        cairo_select_font_face(c, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(c, 18)
        let points = plotted.filter { $0.learningRate > 0 && $0.loss.isFinite }
        let logs = points.map { log10($0.learningRate) }
        let xLow = (logs.min() ?? -6).rounded(.down), xHigh = max((logs.max() ?? 1).rounded(.up), xLow + 1)
        let losses = points.map(\.loss)
        var yLow = losses.min() ?? 0, yHigh = losses.max() ?? 1
        let pad = max((yHigh - yLow) * 0.05, 1e-3)
        yLow -= pad
        yHigh += pad
        func x(_ logRate: Double) -> Double { left + (right - left) * (logRate - xLow) / (xHigh - xLow) }
        func y(_ loss: Double) -> Double { bottom - (bottom - top) * (loss - yLow) / (yHigh - yLow) }

        cairo_set_source_rgb(c, 0, 0, 0)
        cairo_set_line_width(c, 1.5)
        cairo_rectangle(c, left, top, right - left, bottom - top)
        cairo_stroke(c)
        for decade in stride(from: xLow, through: xHigh, by: 1) {
            CairoCanvas.line(c, x(decade), bottom, x(decade), bottom + 6)
            CairoCanvas.text(c, "1e\(Int(decade))", x(decade), bottom + 26, align: 0.5)
        }
        for tick in CairoCanvas.niceTicks(yLow, yHigh) {
            CairoCanvas.line(c, left - 6, y(tick), left, y(tick))
            CairoCanvas.text(c, CairoCanvas.format(tick), left - 10, y(tick) + 6, align: 1)
        }
        CairoCanvas.text(c, "learning rate", (left + right) / 2, Double(height) - 25, align: 0.5)
        CairoCanvas.text(c, "smoothed loss + 1", 100, top - 12, align: 0.5)
        cairo_set_source_rgb(c, 0, 0, 1)
        cairo_set_line_width(c, 2.5)
        for (index, point) in zip(logs, losses).enumerated() {
            if index == 0 { cairo_move_to(c, x(point.0), y(point.1)) } else { cairo_line_to(c, x(point.0), y(point.1)) }
        }
        cairo_stroke(c)
    }
}

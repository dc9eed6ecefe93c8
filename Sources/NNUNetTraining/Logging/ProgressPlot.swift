import CCairo
import Foundation
import NNUNetCore

/// Draws `progress.png` as v1's `plot_progress` does: training and validation loss per epoch on the left axis, the
/// online pseudo-Dice ("evaluation metric") on a second axis at the right, with legends. Rendered with cairo.
public struct ProgressPlot: Sendable {
    /// Per-epoch series; missing values (NaN) leave gaps.
    public var trainingLoss: [Double] = []
    /// Validation loss per epoch (v1 `all_val_losses`).
    public var validationLoss: [Double] = []
    /// v1's "loss_val, train=True" (validation loss in training mode), drawn when present.
    public var validationLossTrainMode: [Double] = []
    /// Online pseudo-Dice per epoch (v1 `all_val_eval_metrics`), drawn on the right axis.
    public var evaluationMetric: [Double] = []

    /// Image width in pixels.
    public var width = 1500
    /// Image height in pixels.
    public var height = 1000

    /// Creates a plot of the given per-epoch series, 1500 × 1000 pixels.
    public init(trainingLoss: [Double] = [], validationLoss: [Double] = [], validationLossTrainMode: [Double] = [],
                evaluationMetric: [Double] = []) {
        self.trainingLoss = trainingLoss
        self.validationLoss = validationLoss
        self.validationLossTrainMode = validationLossTrainMode
        self.evaluationMetric = evaluationMetric
    }

    /// Renders the plot and writes it as PNG, atomically.
    public func write(to url: URL) throws {
        try CairoCanvas.writePNG(width: width, height: height, to: url) { draw($0) }
    }

    private struct Series {
        var values: [Double]
        var color: (Double, Double, Double)
        var dashed: Bool
        var label: String
    }

    private func draw(_ c: OpaquePointer) {
        let left = 110.0, right = Double(width) - 110, top = 40.0, bottom = Double(height) - 80
        cairo_set_source_rgb(c, 1, 1, 1)
        cairo_paint(c)
        cairo_select_font_face(c, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(c, 18)

        let losses = [
            Series(values: trainingLoss, color: (0, 0, 1), dashed: false, label: "loss_tr"),
            Series(values: validationLoss, color: (1, 0, 0), dashed: false, label: "loss_val, train=False"),
            Series(values: validationLossTrainMode, color: (0, 0.5, 0), dashed: false, label: "loss_val, train=True"),
        ].filter { !$0.values.isEmpty }
        let metric = Series(values: evaluationMetric, color: (0, 0.5, 0), dashed: true, label: "evaluation metric")
        let epochs = max(losses.map(\.values.count).max() ?? 0, evaluationMetric.count, 2)

        func range(_ values: [Double]) -> (Double, Double) {
            let finite = values.filter(\.isFinite)
            guard let low = finite.min(), let high = finite.max() else { return (0, 1) }
            let pad = max((high - low) * 0.05, 1e-3)
            return (low - pad, high + pad)
        }
        let lossRange = range(losses.flatMap(\.values))
        let metricRange = range(evaluationMetric)
        func x(_ epoch: Int) -> Double { left + (right - left) * Double(epoch) / Double(max(epochs - 1, 1)) }
        func y(_ value: Double, _ r: (Double, Double)) -> Double {
            bottom - (bottom - top) * (value - r.0) / (r.1 - r.0)
        }

        // Axes, ticks and labels.
        cairo_set_source_rgb(c, 0, 0, 0)
        cairo_set_line_width(c, 1.5)
        cairo_rectangle(c, left, top, right - left, bottom - top)
        cairo_stroke(c)
        for tick in CairoCanvas.niceTicks(0, Double(epochs - 1)) {
            let px = x(Int(tick.rounded()))
            CairoCanvas.line(c, px, bottom, px, bottom + 6)
            CairoCanvas.text(c, String(Int(tick.rounded())), px, bottom + 26, align: 0.5)
        }
        for tick in CairoCanvas.niceTicks(lossRange.0, lossRange.1) {
            let py = y(tick, lossRange)
            CairoCanvas.line(c, left - 6, py, left, py)
            CairoCanvas.text(c, CairoCanvas.format(tick), left - 10, py + 6, align: 1)
        }
        if !evaluationMetric.isEmpty {
            for tick in CairoCanvas.niceTicks(metricRange.0, metricRange.1) {
                let py = y(tick, metricRange)
                CairoCanvas.line(c, right, py, right + 6, py)
                CairoCanvas.text(c, CairoCanvas.format(tick), right + 10, py + 6, align: 0)
            }
        }
        CairoCanvas.text(c, "epoch", (left + right) / 2, Double(height) - 25, align: 0.5)
        CairoCanvas.text(c, "loss", 30, (top + bottom) / 2, align: 0.5)
        if !evaluationMetric.isEmpty { CairoCanvas.text(c, "evaluation metric", Double(width) - 20, top - 12, align: 1) }

        // Curves.
        for series in losses { curve(c, series) { (x($0), y($1, lossRange)) } }
        if !evaluationMetric.isEmpty { curve(c, metric) { (x($0), y($1, metricRange)) } }

        // One legend box at the top right listing every curve.
        let entries = losses + (evaluationMetric.isEmpty ? [] : [metric])
        cairo_set_source_rgba(c, 1, 1, 1, 0.85)
        cairo_rectangle(c, right - 290, top + 8, 280, 28 * Double(entries.count) + 10)
        cairo_fill(c)
        for (index, series) in entries.enumerated() { legend(c, series, right - 280, top + 34 + 28 * Double(index)) }
    }

    private func curve(_ c: OpaquePointer, _ series: Series, _ point: (Int, Double) -> (Double, Double)) {
        cairo_set_source_rgb(c, series.color.0, series.color.1, series.color.2)
        cairo_set_line_width(c, 2.5)
        var dashes: [Double] = series.dashed ? [10, 6] : []
        cairo_set_dash(c, &dashes, Int32(dashes.count), 0)
        var penDown = false
        for (epoch, value) in series.values.enumerated() {
            guard value.isFinite else { penDown = false; continue }
            let (px, py) = point(epoch, value)
            if penDown { cairo_line_to(c, px, py) } else { cairo_move_to(c, px, py); penDown = true }
        }
        cairo_stroke(c)
        cairo_set_dash(c, nil, 0, 0)
    }

    private func legend(_ c: OpaquePointer, _ series: Series, _ px: Double, _ py: Double) {
        cairo_set_source_rgb(c, series.color.0, series.color.1, series.color.2)
        cairo_set_line_width(c, 2.5)
        var dashes: [Double] = series.dashed ? [10, 6] : []
        cairo_set_dash(c, &dashes, Int32(dashes.count), 0)
        CairoCanvas.line(c, px, py - 6, px + 40, py - 6)
        cairo_set_dash(c, nil, 0, 0)
        cairo_set_source_rgb(c, 0, 0, 0)
        CairoCanvas.text(c, series.label, px + 50, py, align: 0)
    }
}

import CCairo
import Foundation
import NNUNetCore

/// Drawing helpers shared by the PNG plots (`progress.png`, `lr_finder.png`): an image surface written atomically,
/// lines, anchored text and round tick values.
enum CairoCanvas {
    /// Creates an RGB surface, lets `draw` paint it, and writes it as PNG via a temporary file + rename.
    static func writePNG(width: Int, height: Int, to url: URL, draw: (OpaquePointer) -> Void) throws {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)) else {
            throw CoreError.fileSystem(path: url.path, reason: "cairo could not create an image")
        }
        defer { cairo_surface_destroy(surface) }
        guard let context = cairo_create(surface) else {
            throw CoreError.fileSystem(path: url.path, reason: "cairo could not create a context")
        }
        defer { cairo_destroy(context) }
        draw(context)
        cairo_surface_flush(surface)
        let temporary = TemporaryFile.url(for: url)
        guard cairo_surface_write_to_png(surface, temporary.path) == CAIRO_STATUS_SUCCESS else {
            TemporaryFile.remove(temporary)
            throw CoreError.fileSystem(path: url.path, reason: "the PNG could not be written")
        }
        try AtomicFile.moveIntoPlace(temporary, url)
    }

    static func line(_ c: OpaquePointer, _ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) {
        cairo_move_to(c, x0, y0)
        cairo_line_to(c, x1, y1)
        cairo_stroke(c)
    }

    /// Draws text with its anchor at horizontal fraction `align` (0 left, 0.5 centre, 1 right) of its width.
    static func text(_ c: OpaquePointer, _ string: String, _ px: Double, _ py: Double, align: Double) {
        var extents = cairo_text_extents_t()
        cairo_text_extents(c, string, &extents)
        cairo_move_to(c, px - extents.x_advance * align, py)
        cairo_show_text(c, string)
    }

    static func format(_ value: Double) -> String {
        let text = abs(value) >= 100 ? String(Int(value.rounded())) : String(format: "%.2f", value)
        return text == "-0.00" ? "0.00" : text
    }

    /// About five round tick values covering [low, high].
    static func niceTicks(_ low: Double, _ high: Double) -> [Double] {
        guard high > low else { return [low] }
        let raw = (high - low) / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var ticks: [Double] = []
        var value = (low / step).rounded(.up) * step
        while value <= high + step * 1e-9 { ticks.append(value); value += step }
        return ticks
    }
}

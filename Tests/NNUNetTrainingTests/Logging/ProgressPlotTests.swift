import Foundation
import Testing
@testable import NNUNetTraining

@Suite("progress.png")
struct ProgressPlotTests {
    @Test("writes a PNG of the requested size with the curves' colours in it")
    func png() throws {
        try TestSupport.withTemporaryFolder { folder in
            let epochs = 30
            var plot = ProgressPlot(
                trainingLoss: (0..<epochs).map { -0.2 - 0.6 * (1 - exp(-Double($0) / 8)) },
                validationLoss: (0..<epochs).map { -0.15 - 0.55 * (1 - exp(-Double($0) / 9)) },
                evaluationMetric: (0..<epochs).map { 0.85 * (1 - exp(-Double($0) / 7)) })
            plot.width = 600
            plot.height = 400
            let url = folder.appendingPathComponent("progress.png")
            try plot.write(to: url)
            let data = try Data(contentsOf: url)
            #expect(data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            // IHDR: width and height, big-endian, at bytes 16..<24.
            let width = data[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = data[20..<24].reduce(0) { $0 << 8 | Int($1) }
            #expect(width == 600 && height == 400)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["progress.png"])
            // Redrawing replaces the file.
            plot.trainingLoss.append(-0.9)
            try plot.write(to: url)
            #expect(try Data(contentsOf: url) != data)
        }
    }
}

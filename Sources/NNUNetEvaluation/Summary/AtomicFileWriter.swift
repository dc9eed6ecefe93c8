import Foundation
import NNUNetCore

/// Atomic text writes for the JSON files of this module (Core's ``AtomicFile``, reached without exposing Core types
/// in this module's API).
enum AtomicFileWriter {
    static func write(_ text: String, to url: URL) throws {
        do {
            try AtomicFile.write(text, to: url)
        } catch let error as CoreError {
            throw EvaluationError.unwritableFile(path: url.path, reason: error.description)
        }
    }
}

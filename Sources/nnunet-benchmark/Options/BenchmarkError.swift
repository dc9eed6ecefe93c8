/// Errors of the benchmark runs themselves (a peer that failed, inputs that are missing); the message says what to do.
enum BenchmarkError: Error, CustomStringConvertible {
    /// The run cannot go on; exit non-zero with the message.
    case failed(String)

    var description: String {
        switch self {
        case let .failed(message):
            return message
        }
    }
}

import Foundation
import NNUNetTestSupport
import Testing

/// Locations shared by the CLI tests.
enum TestSupport {
    static let repositoryRoot = OptionalTestData.repositoryRoot
    static let fixtures = OptionalTestData.fixtures
    static let sharedDataLocation = OptionalTestData.sharedDataLocation
    static let sharedData = OptionalTestData.sharedData
    static let reference = OptionalTestData.reference

    static func hasSharedData(_ path: String) -> Bool { OptionalTestData.hasSharedData(path) }

    static func requiresSharedData(_ paths: String..., sourceLocation: SourceLocation = #_sourceLocation)
        -> ConditionTrait {
        OptionalTestData.requiresSharedData(paths, sourceLocation: sourceLocation)
    }
}

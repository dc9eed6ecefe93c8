import Testing
@testable import NNUNetEvaluation

// Tests for NNUNetEvaluation live in this target, one file per source family.

import Testing
@testable import NNUNetTraining

// Tests for NNUNetTraining live in this target, one file per source family.

/// Evaluation module. See docs.
public enum NNUNetEvaluationModule {}

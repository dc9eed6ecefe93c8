/// Training module. See docs.
public enum NNUNetTrainingModule {}

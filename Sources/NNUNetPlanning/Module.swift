/// Planning module. See docs.
public enum NNUNetPlanningModule {}

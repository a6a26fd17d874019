# Stage: training. Owned by the training work; appends its final outputs to ALL_TARGETS.

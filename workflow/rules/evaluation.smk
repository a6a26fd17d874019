# Stage: evaluation. Owned by the evaluation work; appends its final outputs to ALL_TARGETS.

# Stage: models. Owned by the models work; appends its final outputs to ALL_TARGETS.

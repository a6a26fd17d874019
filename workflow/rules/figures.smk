# Stage: figures. Owned by the figures work; appends its final outputs to ALL_TARGETS.

"""static checks over the probe grid built from the policy set."""

"""The recommender stage: a mood -> films from the catalog and the household library."""

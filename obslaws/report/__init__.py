"""The refresh report: figures (plots) and the page that shows them (build)."""

"""Quality gates: Great Expectations suites run on what crosses a stage boundary."""

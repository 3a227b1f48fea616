-- expect: tests/errors/table_move.lua:4: table.move: this range may take up to 1e+15 steps
-- table.move loops over its whole range inside one C call (moving nils into
-- an empty table uses no memory), where the count hook never runs.
table.move({}, 1, 1e15, 1, {})
output("y", input("x", {3}))

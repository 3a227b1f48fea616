-- expect: tests/errors/tensor_field.lua:3: a tensor has no field 'shap' (fields: shape, dtype, rank, op, id, name); did you mean 'shape'?
local x = input("image", {1, 28, 28})
local c = x.shap[2]

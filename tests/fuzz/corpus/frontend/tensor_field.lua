-- expect: tests/errors/tensor_field.lua:3: a tensor has no field 'shap'
local x = input("image", {1, 28, 28})
local c = x.shap[2]

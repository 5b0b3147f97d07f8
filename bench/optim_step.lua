-- Workload optim_step: one optimizer step (grads already there) over the
-- parameters of the MLP 784-256-128-10 (235k float32), per tg.optim class; µs/step.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local B = require "common"
local tg = require "tgrad"
B.setup(tg)

local shapes = {{256, 784}, {256}, {128, 256}, {128}, {10, 128}, {10}}
local variants = {
  {"sgd_momentum", "SGD", {lr = 0.01, momentum = 0.9}},
  {"adam", "Adam", {lr = 1e-3}},
  {"adamw", "AdamW", {lr = 1e-3}},
  {"rmsprop", "RMSprop", {lr = 1e-3}},
  {"adagrad", "Adagrad", {lr = 1e-2}},
  {"adadelta", "Adadelta", {}},
}
for _, v in ipairs(variants) do
  local params = {}
  for i, s in ipairs(shapes) do
    params[i] = tg.randn(s, {requires_grad = true})
    params[i].grad = tg.randn(s)
  end
  local opt = tg.optim[v[2]](params, v[3])
  local t = B.measure(function() opt:step() end)
  B.result("optim_step", v[1], 1e6 * t, "us")
end

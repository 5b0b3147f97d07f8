-- tgrad.optim.lbfgs: tg.optim.LBFGS (PyTorch's torch.optim.LBFGS, after
-- minFunc): lr, max_iter, max_eval, tolerance_grad, tolerance_change,
-- history_size, line_search_fn (nil or "strong_wolfe"), maximize;
-- opt:step(closure). The algorithm works on the parameters flattened into one
-- vector; every vector operation is one tensor op (dot, add_ with alpha, ...),
-- the scalars (step length, curvature pairs' rho, ...) are Lua numbers.
return function(tg, Optimizer)
  local fmt = Optimizer._pyfmt

  local LBFGS = Optimizer:extend("LBFGS", {
    lr = 1, max_iter = 20, tolerance_grad = 1e-7, tolerance_change = 1e-9, history_size = 100, maximize = false,
  }, {max_eval = true, line_search_fn = true})

  function LBFGS._check(d)
    if not (d.lr >= 0) then error("Invalid learning rate: " .. fmt(d.lr)) end
    if d.max_eval == nil then d.max_eval = d.max_iter * 5 // 4 end
    if d.line_search_fn ~= nil and d.line_search_fn ~= "strong_wolfe" then
      error("only 'strong_wolfe' is supported")
    end
  end

  function LBFGS:_init()
    if #self.param_groups ~= 1 then
      error("LBFGS doesn't support per-parameter options (parameter groups)")
    end
    self._params = self.param_groups[1].params
  end

  local function num(x)
    if tg.is_tensor(x) then return x:item() end
    return tonumber(x)
  end

  ---------------------------------------------------------------- helpers
  local function numel(self)
    if not self._numel_cache then
      local n = 0
      for _, p in ipairs(self._params) do n = n + p:numel() end
      self._numel_cache = n
    end
    return self._numel_cache
  end

  local function gather_flat_grad(self)
    local views = {}
    for i, p in ipairs(self._params) do
      local g = p.grad
      if g == nil then
        views[i] = tg.zeros(p:numel(), {dtype = p.dtype, device = p.device})
      else
        views[i] = g:reshape(-1)
      end
    end
    local flat = #views == 1 and views[1]:clone() or tg.cat(views, 1)
    if self.param_groups[1].maximize then flat:neg_() end
    return flat
  end

  -- p += step_size * update (the update's slice for p)
  local function add_grad(self, step_size, update)
    local offset = 0
    for _, p in ipairs(self._params) do
      local n = p:numel()
      p:add_(update:narrow(1, offset + 1, n):view(p.shape), {alpha = step_size})
      offset = offset + n
    end
    assert(offset == numel(self), "LBFGS: parameter sizes changed")
  end

  local function clone_param(self)
    local out = {}
    for i, p in ipairs(self._params) do out[i] = p:detach():clone() end
    return out
  end

  local function set_param(self, data)
    for i, p in ipairs(self._params) do p:copy_(data[i]) end
  end

  local function directional_evaluate(self, closure, x, t, d)
    add_grad(self, t, d)
    local loss = num(tg.enable_grad(closure))
    if self.param_groups[1].maximize then loss = -loss end
    local flat_grad = gather_flat_grad(self)
    set_param(self, x)
    return loss, flat_grad
  end

  local function absmax(t) return t:abs():max():item() end

  ---------------------------------------------------------------- line search
  -- the minimiser of the cubic interpolating (x1, f1, g1), (x2, f2, g2), within bounds
  local function cubic_interpolate(x1, f1, g1, x2, f2, g2, xmin_bound, xmax_bound)
    if xmin_bound == nil then
      if x1 <= x2 then xmin_bound, xmax_bound = x1, x2 else xmin_bound, xmax_bound = x2, x1 end
    end
    local d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    local d2_square = d1 ^ 2 - g1 * g2
    if d2_square >= 0 then
      local d2 = math.sqrt(d2_square)
      local min_pos
      if x1 <= x2 then
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
      else
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
      end
      return math.min(math.max(min_pos, xmin_bound), xmax_bound)
    end
    return (xmin_bound + xmax_bound) / 2.0
  end

  local function strong_wolfe(obj_func, x, t, d, f, g, gtd, c1, c2, tolerance_change, max_ls)
    c1, c2 = c1 or 1e-4, c2 or 0.9
    tolerance_change, max_ls = tolerance_change or 1e-9, max_ls or 25
    local d_norm = absmax(d)
    g = g:clone()
    local f_new, g_new = obj_func(x, t, d)
    local ls_func_evals = 1
    local gtd_new = g_new:dot(d):item()
    local t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    local done = false
    local ls_iter = 0
    local bracket, bracket_f, bracket_g, bracket_gtd
    while ls_iter < max_ls do
      if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev) then
        bracket, bracket_f = {t_prev, t}, {f_prev, f_new}
        bracket_g, bracket_gtd = {g_prev, g_new:clone()}, {gtd_prev, gtd_new}
        break
      end
      if math.abs(gtd_new) <= -c2 * gtd then
        bracket, bracket_f, bracket_g = {t}, {f_new}, {g_new}
        done = true
        break
      end
      if gtd_new >= 0 then
        bracket, bracket_f = {t_prev, t}, {f_prev, f_new}
        bracket_g, bracket_gtd = {g_prev, g_new:clone()}, {gtd_prev, gtd_new}
        break
      end
      -- interpolate
      local min_step = t + 0.01 * (t - t_prev)
      local max_step = t * 10
      local tmp = t
      t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, min_step, max_step)
      t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new:clone(), gtd_new
      f_new, g_new = obj_func(x, t, d)
      ls_func_evals = ls_func_evals + 1
      gtd_new = g_new:dot(d):item()
      ls_iter = ls_iter + 1
    end
    if ls_iter == max_ls then
      bracket, bracket_f, bracket_g = {0, t}, {f, f_new}, {g, g_new}
    end

    -- zoom: refine the bracket until a point satisfies the strong Wolfe conditions
    local insuf_progress = false
    local low_pos, high_pos = 1, 2
    if not (bracket_f[1] <= bracket_f[#bracket_f]) then low_pos, high_pos = 2, 1 end
    while not done and ls_iter < max_ls do
      if math.abs(bracket[2] - bracket[1]) * d_norm < tolerance_change then break end
      t = cubic_interpolate(bracket[1], bracket_f[1], bracket_gtd[1], bracket[2], bracket_f[2], bracket_gtd[2])
      local bmax, bmin = math.max(bracket[1], bracket[2]), math.min(bracket[1], bracket[2])
      local eps = 0.1 * (bmax - bmin)
      if math.min(bmax - t, t - bmin) < eps then
        if insuf_progress or t >= bmax or t <= bmin then
          if math.abs(t - bmax) < math.abs(t - bmin) then t = bmax - eps else t = bmin + eps end
          insuf_progress = false
        else
          insuf_progress = true
        end
      else
        insuf_progress = false
      end
      f_new, g_new = obj_func(x, t, d)
      ls_func_evals = ls_func_evals + 1
      gtd_new = g_new:dot(d):item()
      ls_iter = ls_iter + 1
      if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos] then
        bracket[high_pos], bracket_f[high_pos] = t, f_new
        bracket_g[high_pos], bracket_gtd[high_pos] = g_new:clone(), gtd_new
        if bracket_f[1] <= bracket_f[2] then low_pos, high_pos = 1, 2 else low_pos, high_pos = 2, 1 end
      else
        if math.abs(gtd_new) <= -c2 * gtd then
          done = true
        elseif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0 then
          bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
          bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
        end
        bracket[low_pos], bracket_f[low_pos] = t, f_new
        bracket_g[low_pos], bracket_gtd[low_pos] = g_new:clone(), gtd_new
      end
    end
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals
  end

  ---------------------------------------------------------------- step
  LBFGS.step = tg._entry(function(self, closure)
    if type(closure) ~= "function" and not (getmetatable(closure) or {}).__call then
      error("LBFGS.step() requires a closure that re-evaluates the model and returns the loss")
    end
    local guard <close> = tg.no_grad()
    local group = self.param_groups[1]
    local lr, max_iter, max_eval = group.lr, group.max_iter, group.max_eval
    local tolerance_grad, tolerance_change = group.tolerance_grad, group.tolerance_change
    local line_search_fn, history_size = group.line_search_fn, group.history_size
    local maximize = group.maximize
    if #self._params == 0 then return tg.enable_grad(closure) end

    local state = self:_state(self._params[1])
    state.func_evals = state.func_evals or 0
    state.n_iter = state.n_iter or 0

    local orig_loss = tg.enable_grad(closure)
    local loss = num(orig_loss)
    if maximize then loss = -loss end
    local current_evals = 1
    state.func_evals = state.func_evals + 1

    local flat_grad = gather_flat_grad(self)
    if absmax(flat_grad) <= tolerance_grad then return orig_loss end

    local d, t = state.d, state.t
    local old_dirs, old_stps, ro, H_diag = state.old_dirs, state.old_stps, state.ro, state.H_diag
    local prev_flat_grad, prev_loss = state.prev_flat_grad, state.prev_loss

    local n_iter = 0
    while n_iter < max_iter do
      n_iter = n_iter + 1
      state.n_iter = state.n_iter + 1
      -- the descent direction
      if state.n_iter == 1 then
        d = flat_grad:neg()
        old_dirs, old_stps, ro = {}, {}, {}
        H_diag = 1
      else
        -- update the memory with the curvature pair (y, s)
        local y = flat_grad:sub(prev_flat_grad)
        local s = d:mul(t)
        local ys = y:dot(s):item()
        if ys > 1e-10 then
          if #old_dirs == history_size then
            table.remove(old_dirs, 1)
            table.remove(old_stps, 1)
            table.remove(ro, 1)
          end
          old_dirs[#old_dirs + 1] = y
          old_stps[#old_stps + 1] = s
          ro[#ro + 1] = 1.0 / ys
          H_diag = ys / y:dot(y):item()
        end
        -- the two-loop recursion: d = -H g
        local num_old = #old_dirs
        state.al = state.al or {}
        local al = state.al
        local q = flat_grad:neg()
        for i = num_old, 1, -1 do
          al[i] = old_stps[i]:dot(q):item() * ro[i]
          q:add_(old_dirs[i], {alpha = -al[i]})
        end
        d = q:mul(H_diag)
        for i = 1, num_old do
          local be_i = old_dirs[i]:dot(d):item() * ro[i]
          d:add_(old_stps[i], {alpha = al[i] - be_i})
        end
      end
      if prev_flat_grad == nil then prev_flat_grad = flat_grad:clone() else prev_flat_grad:copy_(flat_grad) end
      prev_loss = loss

      -- the step length
      if state.n_iter == 1 then
        t = math.min(1.0, 1.0 / flat_grad:abs():sum():item()) * lr
      else
        t = lr
      end
      local gtd = flat_grad:dot(d):item()
      if gtd > -tolerance_change then break end

      local ls_func_evals = 0
      local opt_cond = false
      if line_search_fn ~= nil then
        local x_init = clone_param(self)
        local function obj_func(x, tt, dd) return directional_evaluate(self, closure, x, tt, dd) end
        loss, flat_grad, t, ls_func_evals = strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd, nil, nil, nil,
          max_eval - current_evals)
        add_grad(self, t, d)
        opt_cond = absmax(flat_grad) <= tolerance_grad
      else
        add_grad(self, t, d)
        if n_iter ~= max_iter then
          loss = num(tg.enable_grad(closure))
          if maximize then loss = -loss end
          flat_grad = gather_flat_grad(self)
          opt_cond = absmax(flat_grad) <= tolerance_grad
          ls_func_evals = 1
        end
      end
      current_evals = current_evals + ls_func_evals
      state.func_evals = state.func_evals + ls_func_evals

      -- the stopping conditions
      if n_iter == max_iter then break end
      if current_evals >= max_eval then break end
      if opt_cond then break end
      if absmax(d:mul(t)) <= tolerance_change then break end
      if math.abs(loss - prev_loss) < tolerance_change then break end
    end

    state.d, state.t = d, t
    state.old_dirs, state.old_stps, state.ro, state.H_diag = old_dirs, old_stps, ro, H_diag
    state.prev_flat_grad, state.prev_loss = prev_flat_grad, prev_loss
    return orig_loss
  end, true)

  return LBFGS
end

return function(tg) return {} end

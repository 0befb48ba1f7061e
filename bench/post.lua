-- post.lua - wrk script: POST one event (bench/clerk-event.json) per request.
-- SPDX-License-Identifier: Apache-2.0
--
-- BENCH_EVENT names another file to send; by default the JSON file beside
-- this script, so wrk can be started from any directory.

local function script_dir()
    local src = debug.getinfo(1, "S").source
    return src:match("^@(.*/)") or "./"
end

local path = os.getenv("BENCH_EVENT") or (script_dir() .. "clerk-event.json")
local f = assert(io.open(path, "rb"))

wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()

-- BENCH_HEADERS names a file of "name: value" lines to send as well (the
-- signature headers of `fnhost sign`).
local hpath = os.getenv("BENCH_HEADERS")
if hpath then
    for line in io.lines(hpath) do
        local k, v = line:match("^([^:]+):%s*(.*)$")
        if k then wrk.headers[k] = v end
    end
end

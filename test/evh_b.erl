%% evh_ref under the name evh_b (see evh_ref.erl).
-module(evh_b).
-behaviour(gen_event).
-export([init/1, handle_event/2, handle_call/2, handle_info/2, terminate/2]).

init(A) -> evh_ref:init(A).
handle_event(E, S) -> evh_ref:handle_event(E, S).
handle_call(Q, S) -> evh_ref:handle_call(Q, S).
handle_info(I, S) -> evh_ref:handle_info(I, S).
terminate(A, S) -> evh_ref:terminate(A, S).

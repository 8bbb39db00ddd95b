%% Savina Chameneos: C chameneos meet through a mall until M meetings have
%% happened; each meeting changes both colours. Then every chameneo reports
%% its meetings to the mall, which checks the sum (2 * M). Milliseconds from
%% creating the mall to its report.
-module(savina_chameneos).
-export([main/1]).

main([C, M]) ->
    T0 = bench_util:start(),
    Self = self(),
    spawn(fun() -> mall_start(Self, C, M) end),
    Sum = receive {done, S} -> S end,
    Ms = bench_util:elapsed_ms(T0),
    bench_util:check("sum of meetings", 2 * M, Sum),
    bench_util:report("~.3f", Ms).

mall_start(Main, C, M) ->
    Mall = self(),
    Colours = {red, yellow, blue},
    [spawn(fun() -> chameneo_start(Mall, element(I rem 3 + 1, Colours)) end)
     || I <- lists:seq(0, C - 1)],
    mall(Main, C, M, none, 0, 0).

mall(Main, C, M, Waiting, Faded, Sum) ->
    receive
        {meeting_count, Count, _From} when Faded + 1 =:= C ->
            Main ! {done, Sum + Count};
        {meeting_count, Count, _From} ->
            mall(Main, C, M, Waiting, Faded + 1, Sum + Count);
        {meet, _Colour, From} when M =:= 0 ->
            From ! {exit, self()},
            mall(Main, C, M, Waiting, Faded, Sum);
        {meet, _Colour, From} when Waiting =:= none ->
            mall(Main, C, M, From, Faded, Sum);
        {meet, _Colour, _From} = Meet ->
            Waiting ! Meet,
            mall(Main, C, M - 1, none, Faded, Sum)
    end.

chameneo_start(Mall, Colour) ->
    Mall ! {meet, Colour, self()},
    chameneo(Mall, Colour, 0).

chameneo(Mall, Colour, Meetings) ->
    receive
        {meet, Other, From} ->
            New = complement(Colour, Other),
            From ! {change, New, self()},
            Mall ! {meet, New, self()},
            chameneo(Mall, New, Meetings + 1);
        {change, New, _From} ->
            Mall ! {meet, New, self()},
            chameneo(Mall, New, Meetings + 1);
        {exit, From} ->
            From ! {meeting_count, Meetings, self()}
    end.

complement(Same, Same) -> Same;
complement(red, yellow) -> blue;
complement(red, blue) -> yellow;
complement(yellow, red) -> blue;
complement(yellow, blue) -> red;
complement(blue, red) -> yellow;
complement(blue, yellow) -> red.

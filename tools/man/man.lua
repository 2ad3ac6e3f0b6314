-- pandoc filter for libgauth's man pages (tools/man/gen-man.py): a link to
-- another markdown file or to a heading is its text alone (the page has no
-- such target); a web link keeps its URL after the text, as man pages do.
function Link(el)
  local t = el.target
  if t:match("^https?://") then
    if pandoc.utils.stringify(el.content) == t then
      return el.content
    end
    local out = el.content
    out:insert(pandoc.Str(" <" .. t .. ">"))
    return out
  end
  return el.content
end

-- A table is a list of tagged paragraphs (.TP), as man pages write option
-- lists: the first cell is the tag, the others the text (joined by " | "
-- where there are more than two columns, the header naming them once).
-- tbl's columns would not fit an 80-column terminal.
local function cell_inlines(cell)
  local blocks = cell.contents
  if #blocks == 0 then
    return pandoc.List()
  end
  return pandoc.utils.blocks_to_inlines(blocks)
end

function Table(el)
  local items = pandoc.List()
  local ncols = #el.colspecs
  local lead = pandoc.List()
  if ncols > 2 and el.head and #el.head.rows > 0 then
    local names = pandoc.List()
    for _, c in ipairs(el.head.rows[1].cells) do
      names:insert(pandoc.utils.stringify(c.contents))
    end
    lead:insert(pandoc.Para({pandoc.Emph({pandoc.Str(table.concat(names, " | "))})}))
  end
  for _, body in ipairs(el.bodies) do
    for _, row in ipairs(body.body) do
      local term = cell_inlines(row.cells[1])
      local def = pandoc.List()
      for i = 2, #row.cells do
        if i > 2 then
          def:insert(pandoc.Str(" | "))
        end
        def:extend(cell_inlines(row.cells[i]))
      end
      items:insert({term, {pandoc.Plain(def)}})
    end
  end
  lead:insert(pandoc.DefinitionList(items))
  return lead
end

-- Section names in capitals, as man pages have them (EXIT STATUS).
function Header(el)
  if el.level == 1 then
    return pandoc.Header(1, pandoc.text.upper(pandoc.utils.stringify(el.content)), el.attr)
  end
end
